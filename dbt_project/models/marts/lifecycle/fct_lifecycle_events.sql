-- One row per stage a journey entered (architecture §3, §5): the funnel stages in order, back-filled ones
-- flagged skipped, and the close (won or lost). Counting rows per stage and month gives the stage
-- entries of a month, whatever month the journey began in.
with journeys as (
    select * from {{ ref('fct_lead_journeys') }}
),

stage_entries as (
    {#- Every funnel stage in order (the last, won, is never back-filled), then lost beside won. -#}
    {%- set names = funnel_stage_names() %}
    {%- set stages = [] %}
    {%- for name in names %}
        {%- do stages.append((name, loop.index, 'is_' ~ name ~ '_skipped' if not loop.last else 'false')) %}
    {%- endfor %}
    {%- do stages.append(('lost', names | length, 'false')) %}
    {% for stage, stage_order, skipped in stages %}
    select
        journey_id,
        customer_id,
        '{{ stage }}' as funnel_stage,
        {{ stage_order }} as stage_order,
        {{ stage }}_at as entered_at,
        {{ skipped }} as is_skipped
    from journeys
    where {{ stage }}_at is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        {{ dbt.hash(dbt.concat([dbt.cast('stage_entries.journey_id', dbt.type_string()), "'|'", 'stage_entries.funnel_stage'])) }}
            as lifecycle_event_id,
        stage_entries.journey_id,
        stage_entries.customer_id,
        stage_entries.funnel_stage,
        cast(stage_entries.stage_order as integer) as stage_order,
        stage_entries.entered_at,
        {{ business_month('stage_entries.entered_at') }} as entered_month,
        stage_entries.is_skipped,
        journeys.channel,
        journeys.lead_cohort_month
    from stage_entries
    inner join journeys
        on stage_entries.journey_id = journeys.journey_id
)

select * from final
