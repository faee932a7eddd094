with source as (
    {{ raw_source('raw_neocrm', 'contacts', crm_custom_fields('contacts')) }}
),

renamed as (
    select
        cast(id as {{ dbt.type_bigint() }}) as contact_id,
        cast(account_id as {{ dbt.type_bigint() }}) as account_id,
        contact_name,
        mobile,
        phone,
        email,
        post as job_title,
        cast(owner_id as {{ dbt.type_bigint() }}) as owner_user_id,
        {{- crm_custom_field_columns('contacts') }}
        {{ epoch_ms_to_timestamp('created_at') }} as created_at,
        {{ epoch_ms_to_timestamp('updated_at') }} as updated_at
    from source
)

select * from renamed
