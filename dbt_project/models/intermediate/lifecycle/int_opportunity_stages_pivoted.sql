-- One row per opportunity with the first time it entered each funnel stage (through the sale
-- stage map seed) and when its POC ended (the first stage entered after the POC began).
with opportunities as (
    select * from {{ ref('stg_neocrm__opportunities') }}
),

stage_changes as (
    select * from {{ ref('stg_neocrm__opportunity_stage_changes') }}
),

sale_stages as (
    select * from {{ ref('stg_neocrm__sale_stages') }}
),

sale_stage_map as (
    select * from {{ ref('stage_map_crm_sale_stage') }}
    where source_system = 'neocrm'
),

mapped_changes as (
    select
        stage_changes.opportunity_id,
        stage_changes.entered_at,
        sale_stage_map.funnel_stage
    from stage_changes
    inner join sale_stages
        on stage_changes.sale_stage_id = sale_stages.sale_stage_id
    left join sale_stage_map
        on sale_stages.sale_stage_name = sale_stage_map.sale_stage_name
),

first_entries as (
    select
        opportunity_id,
        min(case when funnel_stage = 'poc' then entered_at end) as poc_started_at,
        min(case when funnel_stage = 'won' then entered_at end) as won_at,
        min(case when funnel_stage = 'lost' then entered_at end) as lost_at
    from mapped_changes
    group by opportunity_id
),

poc_ends as (
    select
        first_entries.opportunity_id,
        min(mapped_changes.entered_at) as poc_ended_at
    from first_entries
    inner join mapped_changes
        on first_entries.opportunity_id = mapped_changes.opportunity_id
        and mapped_changes.entered_at > first_entries.poc_started_at
        and coalesce(mapped_changes.funnel_stage, 'none') != 'poc'
    group by first_entries.opportunity_id
),

final as (
    select
        opportunities.opportunity_id,
        opportunities.created_at as opened_at,
        first_entries.poc_started_at,
        poc_ends.poc_ended_at,
        first_entries.won_at,
        first_entries.lost_at
    from opportunities
    left join first_entries
        on opportunities.opportunity_id = first_entries.opportunity_id
    left join poc_ends
        on opportunities.opportunity_id = poc_ends.opportunity_id
)

select * from final
