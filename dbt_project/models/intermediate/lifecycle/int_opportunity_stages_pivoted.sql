-- One row per deal (int_opportunities_matched: a CRM opportunity, or its twins in both CRMs) with when
-- it opened, the first time it entered each funnel stage (through the sale stage map seed of its
-- CRM) and when its POC ended (the first stage entered after the POC began).
with opportunities_matched as (
    select * from {{ ref('int_opportunities_matched') }}
),

opportunities as (
    select * from {{ ref('int_crm__opportunities') }}
),

stage_changes as (
    select * from {{ ref('int_crm__opportunity_stage_changes') }}
),

sale_stage_map as (
    select * from {{ ref('stage_map_crm_sale_stage') }}
),

mapped_changes as (
    -- Each CRM record's own stage history, read through its own CRM's stage map.
    select
        stage_changes.opportunity_id,
        stage_changes.entered_at,
        sale_stage_map.funnel_stage
    from stage_changes
    left join sale_stage_map
        on stage_changes.crm = sale_stage_map.source_system
        and stage_changes.stage_name = sale_stage_map.sale_stage_name
),

record_entries as (
    select
        opportunity_id,
        min(case when funnel_stage = 'poc' then entered_at end) as poc_started_at,
        min(case when funnel_stage = 'won' then entered_at end) as won_at,
        min(case when funnel_stage = 'lost' then entered_at end) as lost_at
    from mapped_changes
    group by opportunity_id
),

record_poc_ends as (
    select
        record_entries.opportunity_id,
        min(mapped_changes.entered_at) as poc_ended_at
    from record_entries
    inner join mapped_changes
        on record_entries.opportunity_id = mapped_changes.opportunity_id
        and record_entries.poc_started_at < mapped_changes.entered_at
        and coalesce(mapped_changes.funnel_stage, 'none') != 'poc'
    group by record_entries.opportunity_id
),

records as (
    select
        opportunities_matched.matched_opportunity_id,
        opportunities.created_at,
        record_entries.poc_started_at,
        record_poc_ends.poc_ended_at,
        record_entries.won_at,
        record_entries.lost_at,
        -- The POC of a deal in both CRMs is the one that started first (its end goes with it).
        row_number() over (
            partition by opportunities_matched.matched_opportunity_id
            order by case when record_entries.poc_started_at is null then 1 else 0 end,
                record_entries.poc_started_at, opportunities_matched.opportunity_id
        ) as poc_rank
    from opportunities_matched
    inner join opportunities
        on opportunities_matched.opportunity_id = opportunities.opportunity_id
    left join record_entries
        on opportunities_matched.opportunity_id = record_entries.opportunity_id
    left join record_poc_ends
        on opportunities_matched.opportunity_id = record_poc_ends.opportunity_id
),

final as (
    select
        matched_opportunity_id as opportunity_id,
        min(created_at) as opened_at,
        min(poc_started_at) as poc_started_at,
        min(case when poc_rank = 1 then poc_ended_at end) as poc_ended_at,
        min(won_at) as won_at,
        min(lost_at) as lost_at
    from records
    group by matched_opportunity_id
)

select * from final
