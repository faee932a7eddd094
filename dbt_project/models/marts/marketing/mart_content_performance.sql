-- Which article, white paper or report produced registrations, and whether they were any good:
-- per material (seed content_catalog: title, author, department) the reads and readers of known
-- people, the journeys it led to (a read of it in the journey's touch window, up to the lead),
-- and how far those journeys went. A journey that read two materials counts for both (influenced);
-- beside it, the exclusive credit its reads took in mart_attribution (attributed), counted once.
{%- set content_model = var('content_attribution_model') %}
{%- if content_model not in rule_based_attribution_models() %}
    {{ exceptions.raise_compiler_error("var content_attribution_model is " ~ content_model ~ "; set it to one of "
        ~ rule_based_attribution_models() | join(', ')) }}
{%- endif %}
with content_reads as (
    select * from {{ ref('int_touchpoints_identified') }}
    where touch_type = 'content_read'
),

journey_reads as (
    select * from {{ ref('int_journey_touches_windowed') }}
    where touch_type = 'content_read'
),

journeys as (
    select * from {{ ref('fct_lead_journeys') }}
),

content_catalog as (
    select * from {{ ref('content_catalog') }}
),

events as (
    select * from {{ ref('stg_sensors__events') }}
),

titles_seen as (
    select
        material_id,
        max(material_title) as material_title
    from events
    where material_id is not null
    group by material_id
),

reads as (
    select
        content_id as material_id,
        count(*) as reads,
        count(distinct customer_id) as readers,
        min(touched_at) as first_read_at
    from content_reads
    group by content_id
),

registrations as (
    select distinct
        content_id as material_id,
        journey_id
    from journey_reads
),

registration_funnel as (
    select
        registrations.material_id,
        count(*) as registrations,
        count(journeys.mql_at) as mqls,
        count(journeys.sql_at) as sqls,
        count(journeys.opportunity_at) as opportunities,
        count(journeys.won_at) as wins,
        coalesce(sum(journeys.won_amount), 0) as lead_won_revenue
    from registrations
    inner join journeys
        on registrations.journey_id = journeys.journey_id
    group by registrations.material_id
),

attributed as (
    select
        content_id as material_id,
        sum(credited_revenue) as attributed_revenue,
        sum(credit_share) as attributed_deals
    from {{ ref('mart_attribution') }}
    where attribution_model = '{{ content_model }}'
        and opportunity_state = 'won'
        and touch_type = 'content_read'
    group by content_id
),

materials as (
    select material_id from reads
    union
    select material_id from content_catalog
    union
    select material_id from attributed
),

final as (
    select
        materials.material_id,
        coalesce(content_catalog.title, titles_seen.material_title) as title,
        content_catalog.content_type,
        content_catalog.author,
        content_catalog.department,
        content_catalog.published_on,
        cast(coalesce(reads.reads, 0) as bigint) as reads,
        cast(coalesce(reads.readers, 0) as bigint) as readers,
        reads.first_read_at,
        cast(coalesce(registration_funnel.registrations, 0) as bigint) as registrations,
        cast(coalesce(registration_funnel.mqls, 0) as bigint) as mqls,
        cast(coalesce(registration_funnel.sqls, 0) as bigint) as sqls,
        cast(coalesce(registration_funnel.opportunities, 0) as bigint) as opportunities,
        cast(coalesce(registration_funnel.wins, 0) as bigint) as wins,
        cast(coalesce(registration_funnel.lead_won_revenue, 0) as decimal(18, 2)) as lead_won_revenue,
        cast(coalesce(attributed.attributed_revenue, 0) as decimal(18, 2)) as attributed_revenue,
        cast(coalesce(attributed.attributed_deals, 0) as decimal(18, 6)) as attributed_deals,
        cast('{{ content_model }}' as {{ dbt.type_string() }}) as attribution_model,
        {{ safe_ratio('registration_funnel.registrations', 'reads.readers') }} as reader_to_registration_rate,
        {{ safe_ratio('registration_funnel.mqls', 'registration_funnel.registrations') }} as registration_to_mql_rate,
        {{ safe_ratio('registration_funnel.opportunities', 'registration_funnel.registrations') }}
            as registration_to_opportunity_rate
    from materials
    left join content_catalog
        on materials.material_id = content_catalog.material_id
    left join titles_seen
        on materials.material_id = titles_seen.material_id
    left join reads
        on materials.material_id = reads.material_id
    left join registration_funnel
        on materials.material_id = registration_funnel.material_id
    left join attributed
        on materials.material_id = attributed.material_id
)

select * from final
