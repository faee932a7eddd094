-- Every change of a CRM lead's status (销售易 lead history, Salesforce LeadHistory on Status), one
-- row each, keyed by the lead's record name. Orgs without field history tracking have none: the
-- lifecycle then infers stages from the lead itself (int_stage_evidence_collected).
with neocrm_changes as (
    select * from {{ ref('stg_neocrm__lead_status_changes') }}
),

salesforce_changes as (
    select * from {{ ref('stg_salesforce__lead_status_changes') }}
    where not is_deleted
),

unioned as (
    select
        'neocrm' as crm,
        {{ record_node('neocrm_lead', 'lead_id') }} as lead_id,
        old_status,
        new_status,
        changed_at
    from neocrm_changes

    union all

    select
        'salesforce' as crm,
        {{ record_node('salesforce_lead', 'lead_id') }} as lead_id,
        old_status,
        new_status,
        changed_at
    from salesforce_changes
)

select * from unioned
