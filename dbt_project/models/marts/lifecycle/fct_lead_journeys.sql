-- One row per journey (a CRM lead's path from lead to close; once, even when both CRMs hold it) with
-- the time it entered each stage. Stages are monotonic: a stage with no evidence of its own that a
-- later stage reached takes that later stage's timestamp and is flagged skipped (architecture §3).
{%- set stages = funnel_stage_names() %}
{#- Durations between neighbouring stages, and from the first to the last. #}
{%- set stage_spans = [] %}
{%- for stage in stages[1:] %}{% do stage_spans.append((stages[loop.index0], stage)) %}{% endfor %}
{%- do stage_spans.append((stages[0], stages[-1])) %}

with evidence as (
    select * from {{ ref('int_stage_evidence_collected') }}
),

journeys as (
    select * from {{ ref('int_journeys_numbered') }}
),

journey_leads as (
    select * from {{ ref('int_journey_leads_matched') }}
),

leads as (
    -- A journey's own lead (in the first CRM of var crm_precedence when it is in both) says what it is.
    select * from {{ ref('int_crm__leads') }}
),

channels as (
    select * from {{ ref('int_lead_channels_mapped') }}
),

opportunities_matched as (
    select * from {{ ref('int_opportunities_matched') }}
),

opportunities as (
    select * from {{ ref('int_crm__opportunities') }}
),

account_ids as (
    select * from {{ ref('int_account_ids_assigned') }}
),

customer_accounts as (
    select * from {{ ref('int_customer_accounts_resolved') }}
),

journey_touches as (
    select * from {{ ref('int_journey_touches_attributed') }}
),

first_evidence as (
    select
        journey_id,
        {%- for stage in stages %}
        min(case when funnel_stage = '{{ stage }}' then entered_at end) as {{ stage }}_evidence_at,
        {%- endfor %}
        min(case when funnel_stage = 'lost' then entered_at end) as lost_at,
        max(case when evidence_type like '%inferred' then 1 else 0 end) as has_inferred_evidence
    from evidence
    group by journey_id
),

backfilled as (
    -- A stage without evidence of its own takes the time of the first later stage that has some.
    select
        *,
        {%- for stage in stages %}
        coalesce({% for later in stages[loop.index0:] %}{{ later }}_evidence_at{{ ', ' if not loop.last }}{% endfor %})
            as {{ stage }}_at{{ ',' if not loop.last }}
        {%- endfor %}
    from first_evidence
),

opportunity_outcomes as (
    -- The deal a lead of the journey was converted into, as its first CRM records it now.
    select
        journey_leads.journey_id,
        min(opportunities_matched.matched_opportunity_id) as opportunity_id
    from journey_leads
    inner join leads
        on journey_leads.lead_id = leads.lead_id
    inner join opportunities_matched
        on leads.converted_opportunity_id = opportunities_matched.opportunity_id
    group by journey_leads.journey_id
),

deals as (
    select
        opportunity_outcomes.journey_id,
        opportunity_outcomes.opportunity_id,
        opportunities.reporting_amount as amount,
        opportunities.close_reason
    from opportunity_outcomes
    inner join opportunities
        on opportunity_outcomes.opportunity_id = opportunities.opportunity_id
),

durations as (
    select
        journey_id,
        {%- for earlier, later in stage_spans %}
        cast({{ dbt.datediff(earlier ~ '_at', later ~ '_at', 'day') }} as integer) as days_{{ earlier }}_to_{{ later }},
        {%- endfor %}
        coalesce(
            {%- for earlier, later in stage_spans[:-1] %} {{ later }}_at < {{ earlier }}_at or{% endfor %}
            lost_at < {{ stages[0] }}_at, false) as is_sequence_out_of_order
    from backfilled
),

final as (
    select
        backfilled.journey_id,
        leads.lead_id,
        leads.crm,
        leads.crm_lead_id,
        journeys.customer_id,
        journeys.journey_number,
        coalesce(converted_accounts.account_id, customer_accounts.account_id) as account_id,
        {{ dbt.split_part('leads.converted_account_record_id', "':'", 2) }} as crm_account_id,
        leads.converted_contact_id as contact_id,
        deals.opportunity_id,
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
        {%- for stage in stages %}
        backfilled.{{ stage }}_at,
        {%- endfor %}
        backfilled.lost_at,
        {%- for stage in stages[:-1] %}
        backfilled.{{ stage }}_evidence_at is null and backfilled.{{ stage }}_at is not null as is_{{ stage }}_skipped,
        {%- endfor %}
        backfilled.has_inferred_evidence = 1 as is_stage_inferred,
        durations.is_sequence_out_of_order,
        case
            when backfilled.won_at is not null then 'won'
            when backfilled.lost_at is not null then 'lost'
            {%- for stage in stages[:-1] | reverse %}
            when backfilled.{{ stage }}_at is not null then '{{ stage }}'
            {%- endfor %}
        end as current_stage,
        -- A deal closed before its lead was created (a lead added later to an old deal) keeps its
        -- true times; durations that would run backwards are unknown, not negative.
        {%- for earlier, later in stage_spans %}
        case when durations.days_{{ earlier }}_to_{{ later }} >= 0 then durations.days_{{ earlier }}_to_{{ later }} end
            as days_{{ earlier }}_to_{{ later }},
        {%- endfor %}
        case when backfilled.won_at is not null then deals.amount end as won_amount,
        {{ reporting_currency() }} as reporting_currency,
        case when backfilled.lost_at is not null then deals.close_reason end as lost_reason
    from backfilled
    inner join journeys
        on backfilled.journey_id = journeys.journey_id
    inner join leads
        on backfilled.journey_id = leads.lead_id
    inner join durations
        on backfilled.journey_id = durations.journey_id
    left join channels
        on leads.lead_id = channels.lead_id
    left join deals
        on backfilled.journey_id = deals.journey_id
    left join account_ids as converted_accounts
        on leads.converted_account_record_id = converted_accounts.identifier
    left join customer_accounts
        on journeys.customer_id = customer_accounts.customer_id
    left join journey_touches
        on backfilled.journey_id = journey_touches.journey_id
)

select * from final
