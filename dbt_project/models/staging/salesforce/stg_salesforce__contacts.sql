with source as (
    {{ raw_source('raw_salesforce', 'contacts', crm_custom_fields('contacts')) }}
),

renamed as (
    select
        id as contact_id,
        account_id,
        name as contact_name,
        first_name,
        last_name,
        mobile_phone as mobile,
        phone,
        email,
        title as job_title,
        owner_id as owner_user_id,
        {{- crm_custom_field_columns('contacts') }}
        {{ salesforce_system_columns() }}
    from source
)

select * from renamed
