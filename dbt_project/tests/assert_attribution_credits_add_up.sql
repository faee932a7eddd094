-- mart_attribution: every won and open deal of fct_opportunities is under every model, and per deal and
-- model the credit shares sum to exactly 1 and the credited revenue to exactly the deal's revenue.
-- Returns the deals and models that break it.
-- It reads fct_opportunities too; Dagster shows it as a check of mart_attribution.
{{ config(meta={'dagster': {'ref': {'name': 'mart_attribution'}}}) }}
{%- set attribution_models = ['first_touch', 'lead_creation', 'last_touch', 'last_non_direct', 'linear',
                              'u_shaped', 'w_shaped', 'time_decay'] %}

with attribution as (
    select * from {{ ref('mart_attribution') }}
),

opportunities as (
    select * from {{ ref('fct_opportunities') }}
    where outcome in ('won', 'open')
),

expected as (
    {%- for model in attribution_models %}
    select
        opportunity_id,
        '{{ model }}' as attribution_model,
        cast(coalesce(case when outcome = 'won' then won_amount else amount end, 0) as decimal(18, 2)) as revenue
    from opportunities
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

credited as (
    select
        opportunity_id,
        attribution_model,
        sum(credit_share) as share_total,
        sum(credited_revenue) as credit_total
    from attribution
    group by opportunity_id, attribution_model
),

final as (
    select
        coalesce(expected.opportunity_id, credited.opportunity_id) as opportunity_id,
        coalesce(expected.attribution_model, credited.attribution_model) as attribution_model,
        expected.revenue,
        credited.share_total,
        credited.credit_total
    from expected
    full outer join credited
        on expected.opportunity_id = credited.opportunity_id
        and expected.attribution_model = credited.attribution_model
    where expected.opportunity_id is null
        or credited.opportunity_id is null
        or credited.share_total != 1
        or credited.credit_total != expected.revenue
)

select * from final
