-- One row per journey (a CRM lead's path from lead to close) with the time it entered each
-- stage. Stages are monotonic: a stage with no evidence of its own that a later stage reached
-- takes that later stage's timestamp and is flagged skipped (DESIGN §3).
with evidence as (
    select * from {{ ref('int_stage_evidence_collected') }}
),

leads as (
    select * from {{ ref('stg_neocrm__leads') }}
),

channels as (
    select * from {{ ref('int_lead_channels_mapped') }}
),

opportunities as (
    select * from {{ ref('stg_neocrm__opportunities') }}
),

sale_stage_map as (
    select * from {{ ref('stage_map_crm_sale_stage') }}
    where source_system = 'neocrm'
),

sale_stages as (
    select * from {{ ref('stg_neocrm__sale_stages') }}
),

journey_touches as (
    select * from {{ ref('int_journey_touches_attributed') }}
),

first_evidence as (
    select
        journey_id,
        min(case when funnel_stage = 'lead' then entered_at end) as lead_evidence_at,
        min(case when funnel_stage = 'mql' then entered_at end) as mql_evidence_at,
        min(case when funnel_stage = 'sql' then entered_at end) as sql_evidence_at,
        min(case when funnel_stage = 'opportunity' then entered_at end) as opportunity_evidence_at,
        min(case when funnel_stage = 'poc' then entered_at end) as poc_evidence_at,
        min(case when funnel_stage = 'won' then entered_at end) as won_at,
        min(case when funnel_stage = 'lost' then entered_at end) as lost_at
    from evidence
    group by journey_id
),

backfilled_won_poc as (
    select
        *,
        coalesce(poc_evidence_at, won_at) as poc_at
    from first_evidence
),

backfilled_opportunity as (
    select
        *,
        coalesce(opportunity_evidence_at, poc_at) as opportunity_at
    from backfilled_won_poc
),

backfilled_sql as (
    select
        *,
        coalesce(sql_evidence_at, opportunity_at) as sql_at
    from backfilled_opportunity
),

backfilled_mql as (
    select
        *,
        coalesce(mql_evidence_at, sql_at) as mql_at
    from backfilled_sql
),

backfilled as (
    select
        *,
        coalesce(lead_evidence_at, mql_at) as lead_at
    from backfilled_mql
),

opportunity_outcomes as (
    select
        opportunities.opportunity_id,
        opportunities.amount_cny,
        sale_stage_map.funnel_stage as current_opportunity_stage,
        opportunities.close_reason
    from opportunities
    left join sale_stages
        on opportunities.sale_stage_id = sale_stages.sale_stage_id
    left join sale_stage_map
        on sale_stages.sale_stage_name = sale_stage_map.sale_stage_name
),

final as (
    select
        backfilled.journey_id,
        leads.lead_id,
        journey_touches.customer_id,
        journey_touches.journey_number,
        leads.converted_account_id as account_id,
        leads.converted_contact_id as contact_id,
        leads.converted_opportunity_id as opportunity_id,
        channels.channel,
        channels.channel_group,
        leads.lead_source,
        leads.utm_source,
        leads.utm_medium,
        leads.utm_campaign,
        leads.utm_term,
        leads.province,
        leads.industry,
        journey_touches.first_touch_at,
        journey_touches.first_touch_type,
        journey_touches.first_touch_channel,
        journey_touches.first_touch_campaign,
        journey_touches.first_touch_keyword,
        journey_touches.first_touch_content,
        journey_touches.lead_touch_type,
        journey_touches.lead_touch_channel,
        journey_touches.lead_touch_campaign,
        journey_touches.lead_touch_keyword,
        journey_touches.lead_touch_content,
        {{ business_month('backfilled.lead_at') }} as lead_cohort_month,
        backfilled.lead_at,
        backfilled.mql_at,
        backfilled.sql_at,
        backfilled.opportunity_at,
        backfilled.poc_at,
        backfilled.won_at,
        backfilled.lost_at,
        backfilled.lead_evidence_at is null and backfilled.lead_at is not null as is_lead_skipped,
        backfilled.mql_evidence_at is null and backfilled.mql_at is not null as is_mql_skipped,
        backfilled.sql_evidence_at is null and backfilled.sql_at is not null as is_sql_skipped,
        backfilled.opportunity_evidence_at is null and backfilled.opportunity_at is not null
            as is_opportunity_skipped,
        backfilled.poc_evidence_at is null and backfilled.poc_at is not null as is_poc_skipped,
        case
            when backfilled.won_at is not null then 'won'
            when backfilled.lost_at is not null then 'lost'
            when backfilled.poc_at is not null then 'poc'
            when backfilled.opportunity_at is not null then 'opportunity'
            when backfilled.sql_at is not null then 'sql'
            when backfilled.mql_at is not null then 'mql'
            else 'lead'
        end as current_stage,
        cast({{ dbt.datediff('backfilled.lead_at', 'backfilled.mql_at', 'day') }} as integer) as days_lead_to_mql,
        cast({{ dbt.datediff('backfilled.mql_at', 'backfilled.sql_at', 'day') }} as integer) as days_mql_to_sql,
        cast({{ dbt.datediff('backfilled.sql_at', 'backfilled.opportunity_at', 'day') }} as integer) as days_sql_to_opportunity,
        cast({{ dbt.datediff('backfilled.opportunity_at', 'backfilled.poc_at', 'day') }} as integer) as days_opportunity_to_poc,
        cast({{ dbt.datediff('backfilled.poc_at', 'backfilled.won_at', 'day') }} as integer) as days_poc_to_won,
        cast({{ dbt.datediff('backfilled.lead_at', 'backfilled.won_at', 'day') }} as integer) as days_lead_to_won,
        case when backfilled.won_at is not null then opportunity_outcomes.amount_cny end as won_amount_cny,
        case when backfilled.lost_at is not null then opportunity_outcomes.close_reason end as lost_reason
    from backfilled
    inner join leads
        on backfilled.journey_id = leads.lead_id
    left join channels
        on leads.lead_id = channels.lead_id
    left join opportunity_outcomes
        on leads.converted_opportunity_id = opportunity_outcomes.opportunity_id
    left join journey_touches
        on backfilled.journey_id = journey_touches.journey_id
)

select * from final
