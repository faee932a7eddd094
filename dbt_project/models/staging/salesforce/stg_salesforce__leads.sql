with source as (
    {{ raw_source('raw_salesforce', 'leads', crm_custom_fields('leads')) }}
),

renamed as (
    select
        id as lead_id,
        name as lead_name,
        first_name,
        last_name,
        mobile_phone as mobile,
        phone,
        email,
        company as company_name,
        title as job_title,
        state as province,
        industry,
        trim(lead_source) as lead_source,
        status as lead_status,
        owner_id as owner_user_id,
        coalesce(is_converted, false) as is_converted,
        converted_date as converted_on,
        converted_account_id,
        converted_contact_id,
        converted_opportunity_id,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_term,
        utm_content,
        {{- crm_custom_field_columns('leads') }}
        {{ salesforce_system_columns() }}
    from source
)

select * from renamed
