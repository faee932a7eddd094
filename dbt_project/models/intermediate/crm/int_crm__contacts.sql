-- Every CRM contact (销售易 联系人, Salesforce Contact) on one vocabulary, keyed by its record name.
with neocrm_contacts as (
    select * from {{ ref('stg_neocrm__contacts') }}
),

salesforce_contacts as (
    select * from {{ ref('stg_salesforce__contacts') }}
    where not is_deleted
),

unioned as (
    select
        'neocrm' as crm,
        {{ record_node('neocrm_contact', 'contact_id') }} as contact_id,
        {{ dbt.cast('contact_id', dbt.type_string()) }} as crm_contact_id,
        {{ record_node('neocrm_account', 'account_id') }} as account_record_id,
        contact_name,
        job_title,
        {{- crm_custom_field_passthrough('contacts') }}
        created_at,
        updated_at
    from neocrm_contacts

    union all

    select
        'salesforce' as crm,
        {{ record_node('salesforce_contact', 'contact_id') }} as contact_id,
        contact_id as crm_contact_id,
        {{ record_node('salesforce_account', 'account_id') }} as account_record_id,
        contact_name,
        job_title,
        {{- crm_custom_field_passthrough('contacts') }}
        created_at,
        updated_at
    from salesforce_contacts
)

select * from unioned
