with source as (
    {{ raw_source('raw_neocrm', 'accounts', crm_custom_fields('accounts')) }}
),

renamed as (
    select
        cast(id as {{ dbt.type_bigint() }}) as account_id,
        account_name,
        industry,
        province,
        city,
        cast(employee_number as integer) as employee_count,
        cast(owner_id as {{ dbt.type_bigint() }}) as owner_user_id,
        nullif(trim(unified_social_credit_code), '') as unified_social_credit_code,
        {{- crm_custom_field_columns('accounts') }}
        {{ epoch_ms_to_timestamp('created_at') }} as created_at,
        {{ epoch_ms_to_timestamp('updated_at') }} as updated_at
    from source
)

select * from renamed
