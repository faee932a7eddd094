with source as (
    {{ raw_source('raw_neocrm', 'leads', crm_custom_fields('leads')) }}
),

renamed as (
    select
        cast(id as {{ dbt.type_bigint() }}) as lead_id,
        name as lead_name,
        mobile,
        phone,
        email,
        company_name,
        post as job_title,
        province,
        industry,
        trim(lead_source) as lead_source,
        status as lead_status,
        cast(owner_id as {{ dbt.type_bigint() }}) as owner_user_id,
        cast(account_id as {{ dbt.type_bigint() }}) as converted_account_id,
        cast(contact_id as {{ dbt.type_bigint() }}) as converted_contact_id,
        cast(opportunity_id as {{ dbt.type_bigint() }}) as converted_opportunity_id,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_term,
        utm_content,
        {{- crm_custom_field_columns('leads') }}
        {{ epoch_ms_to_timestamp('created_at') }} as created_at,
        {{ epoch_ms_to_timestamp('updated_at') }} as updated_at
    from source
)

select * from renamed
