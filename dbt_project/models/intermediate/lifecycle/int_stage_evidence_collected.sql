-- Every piece of CRM evidence that a journey entered a funnel stage (DESIGN §3), one row each.
-- A journey is one CRM lead's path; the opportunity it belongs to is the one the lead was
-- converted into. Stage maps are seeds, so marketers decide what counts as MQL or POC.
with leads as (
    select * from {{ ref('stg_neocrm__leads') }}
),

status_changes as (
    select * from {{ ref('stg_neocrm__lead_status_changes') }}
),

opportunities as (
    select * from {{ ref('stg_neocrm__opportunities') }}
),

stage_changes as (
    select * from {{ ref('stg_neocrm__opportunity_stage_changes') }}
),

sale_stages as (
    select * from {{ ref('stg_neocrm__sale_stages') }}
),

lead_status_map as (
    select * from {{ ref('stage_map_crm_lead_status') }}
    where source_system = 'neocrm' and funnel_stage is not null
),

sale_stage_map as (
    select * from {{ ref('stage_map_crm_sale_stage') }}
    where source_system = 'neocrm' and funnel_stage is not null
),

lead_created as (
    select
        lead_id as journey_id,
        'lead' as funnel_stage,
        created_at as entered_at,
        'crm_lead_created' as evidence_type
    from leads
),

lead_status_entered as (
    select
        status_changes.lead_id as journey_id,
        lead_status_map.funnel_stage,
        status_changes.changed_at as entered_at,
        'crm_lead_status' as evidence_type
    from status_changes
    inner join lead_status_map
        on status_changes.new_status = lead_status_map.lead_status
),

opportunity_opened as (
    select
        leads.lead_id as journey_id,
        'opportunity' as funnel_stage,
        opportunities.created_at as entered_at,
        'crm_opportunity_created' as evidence_type
    from leads
    inner join opportunities
        on leads.converted_opportunity_id = opportunities.opportunity_id
),

sale_stage_entered as (
    select
        leads.lead_id as journey_id,
        sale_stage_map.funnel_stage,
        stage_changes.entered_at,
        'crm_opportunity_stage' as evidence_type
    from leads
    inner join stage_changes
        on leads.converted_opportunity_id = stage_changes.opportunity_id
    inner join sale_stages
        on stage_changes.sale_stage_id = sale_stages.sale_stage_id
    inner join sale_stage_map
        on sale_stages.sale_stage_name = sale_stage_map.sale_stage_name
),

unioned as (
    select * from lead_created
    union all
    select * from lead_status_entered
    union all
    select * from opportunity_opened
    union all
    select * from sale_stage_entered
)

select * from unioned
