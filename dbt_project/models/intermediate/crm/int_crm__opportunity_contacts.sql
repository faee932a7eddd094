-- The buying committee of each deal: the contacts a CRM names on it and their role (Salesforce
-- OpportunityContactRole). 销售易's deal contacts are not loaded yet.
with contact_roles as (
    select * from {{ ref('stg_salesforce__opportunity_contact_roles') }}
    where not is_deleted
),

final as (
    select
        'salesforce' as crm,
        {{ record_node('salesforce_opportunity', 'opportunity_id') }} as opportunity_id,
        {{ record_node('salesforce_contact', 'contact_id') }} as contact_id,
        contact_role,
        is_primary
    from contact_roles
)

select * from final
