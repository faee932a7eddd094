with source as (
    {{ raw_source('raw_salesforce', 'accounts', crm_custom_fields('accounts')) }}
),

renamed as (
    select
        id as account_id,
        name as account_name,
        industry,
        billing_state as province,
        billing_city as city,
        cast(number_of_employees as integer) as employee_count,
        owner_id as owner_user_id,
        {{- crm_custom_field_columns('accounts') }}
        {{ salesforce_system_columns() }}
    from source
)

select * from renamed
