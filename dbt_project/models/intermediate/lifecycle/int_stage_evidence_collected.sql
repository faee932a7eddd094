-- Every piece of CRM evidence that a journey entered a funnel stage (architecture §3), one row each, from
-- every CRM record of the journey (int_journey_leads_matched) and of the deal its leads were
-- converted into (int_opportunities_matched). Stage maps are seeds per CRM, so marketers decide what
-- counts as MQL or POC. A lead with no status history (a Salesforce org without field history
-- tracking) is read from what it shows now — its current status, its conversion date — and that
-- evidence is flagged inferred.
with journey_leads as (
    select * from {{ ref('int_journey_leads_matched') }}
),

leads as (
    select * from {{ ref('int_crm__leads') }}
),

status_changes as (
    select * from {{ ref('int_crm__lead_status_changes') }}
),

opportunities_matched as (
    select * from {{ ref('int_opportunities_matched') }}
),

opportunities as (
    select * from {{ ref('int_crm__opportunities') }}
),

stage_changes as (
    select * from {{ ref('int_crm__opportunity_stage_changes') }}
),

lead_status_map as (
    select * from {{ ref('stage_map_crm_lead_status') }}
    where funnel_stage is not null
),

sale_stage_map as (
    select * from {{ ref('stage_map_crm_sale_stage') }}
    where funnel_stage is not null
),

journey_records as (
    select
        journey_leads.journey_id,
        leads.*
    from journey_leads
    inner join leads
        on journey_leads.lead_id = leads.lead_id
),

lead_created as (
    select
        journey_id,
        'lead' as funnel_stage,
        created_at as entered_at,
        'crm_lead_created' as evidence_type
    from journey_records
),

lead_status_entered as (
    select
        journey_records.journey_id,
        lead_status_map.funnel_stage,
        status_changes.changed_at as entered_at,
        'crm_lead_status' as evidence_type
    from journey_records
    inner join status_changes
        on journey_records.lead_id = status_changes.lead_id
    inner join lead_status_map
        on status_changes.crm = lead_status_map.source_system
        and status_changes.new_status = lead_status_map.lead_status
),

leads_without_history as (
    select journey_records.*
    from journey_records
    where not exists (
        select 1
        from status_changes
        where status_changes.lead_id = journey_records.lead_id
    )
),

lead_status_inferred as (
    -- The status it has now, reached by the time it last changed (beyond 'lead': creation says that).
    select
        leads_without_history.journey_id,
        lead_status_map.funnel_stage,
        leads_without_history.updated_at as entered_at,
        'crm_lead_status_inferred' as evidence_type
    from leads_without_history
    inner join lead_status_map
        on leads_without_history.crm = lead_status_map.source_system
        and leads_without_history.lead_status = lead_status_map.lead_status
    where lead_status_map.funnel_stage <> 'lead'
),

lead_conversion_inferred as (
    -- Conversion makes the lead a sales-accepted customer; the CRM gives only its day.
    select
        journey_id,
        'sql' as funnel_stage,
        {{ business_day_start('converted_on') }} as entered_at,
        'crm_lead_converted_inferred' as evidence_type
    from leads_without_history
    where converted_on is not null
),

journey_deals as (
    select distinct
        journey_records.journey_id,
        opportunities_matched.matched_opportunity_id
    from journey_records
    inner join opportunities_matched
        on journey_records.converted_opportunity_id = opportunities_matched.opportunity_id
),

deal_records as (
    select
        journey_deals.journey_id,
        opportunities_matched.opportunity_id
    from journey_deals
    inner join opportunities_matched
        on journey_deals.matched_opportunity_id = opportunities_matched.matched_opportunity_id
),

opportunity_opened as (
    select
        deal_records.journey_id,
        'opportunity' as funnel_stage,
        opportunities.created_at as entered_at,
        'crm_opportunity_created' as evidence_type
    from deal_records
    inner join opportunities
        on deal_records.opportunity_id = opportunities.opportunity_id
),

sale_stage_entered as (
    select
        deal_records.journey_id,
        sale_stage_map.funnel_stage,
        stage_changes.entered_at,
        case when stage_changes.is_inferred then 'crm_opportunity_stage_inferred'
            else 'crm_opportunity_stage' end as evidence_type
    from deal_records
    inner join stage_changes
        on deal_records.opportunity_id = stage_changes.opportunity_id
    inner join sale_stage_map
        on stage_changes.crm = sale_stage_map.source_system
        and stage_changes.stage_name = sale_stage_map.sale_stage_name
),

unioned as (
    select * from lead_created
    union all
    select * from lead_status_entered
    union all
    select * from lead_status_inferred
    union all
    select * from lead_conversion_inferred
    union all
    select * from opportunity_opened
    union all
    select * from sale_stage_entered
)

select * from unioned
