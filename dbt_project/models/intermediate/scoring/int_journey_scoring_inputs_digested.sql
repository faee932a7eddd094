-- One row per scored journey: the digest of everything the journey-day scoring models derive a journey's
-- days from, except the passing of time: its person, lead and close days, the rule sets, province and
-- region weights its days fall under, the fit rules it matches, its company, its person's touches (type
-- and business day) and the scoring seeds. A night derives every day of a journey whose digest changed
-- (a new touch, a re-stitched person, a changed attribute or seed), and only the new days of the others
-- (macros/incremental). last_scored_on is the journey's last scored day.
with journey_days as (
    select * from {{ ref('int_journey_days_spanned') }}
),

journeys as (
    select * from {{ ref('fct_lead_journeys') }}
),

fit_rules as (
    select * from {{ ref('int_journey_fit_rules_matched') }}
),

touchpoints as (
    {{ person_touch_days() }}
),

journey_rule_sets as (
    select distinct
        journey_id,
        customer_id,
        lead_on,
        closed_on,
        rule_set_version,
        province,
        region_weight
    from journey_days
),

journey_shapes as (
    select
        journey_id,
        max(customer_id) as customer_id,
        {{ rows_digest(['customer_id', 'lead_on', 'closed_on', 'rule_set_version', 'province', 'region_weight']) }}
            as shape_digest
    from journey_rule_sets
    group by journey_id
),

journey_last_days as (
    select
        journey_id,
        max(score_on) as last_scored_on
    from journey_days
    group by journey_id
),

journey_fit_rules as (
    select
        journey_id,
        {{ rows_digest(['rule_set_version', 'rule_id', 'attribute_name', 'points', 'reason_label']) }} as fit_digest
    from fit_rules
    group by journey_id
),

customer_touches as (
    select
        customer_id,
        {{ rows_digest(['touch_type', 'touched_on']) }} as touches_digest
    from touchpoints
    group by customer_id
),

seeds as (
    select
        {{ dbt.concat([
            relation_digest(ref('int_scoring_rule_sets_ranged')), "'/'",
            relation_digest(ref('scoring_behaviour_rules')),
        ]) }} as seeds_digest
),

final as (
    select
        journey_shapes.journey_id,
        journey_last_days.last_scored_on,
        {{ dbt.concat([
            'journey_shapes.shape_digest', "'/'",
            "coalesce(" ~ dbt.cast('journeys.account_id', dbt.type_string()) ~ ", '-')", "'/'",
            "coalesce(journey_fit_rules.fit_digest, '-')", "'/'",
            "coalesce(customer_touches.touches_digest, '-')", "'/'",
            'seeds.seeds_digest',
        ]) }} as inputs_digest
    from journey_shapes
    cross join seeds
    inner join journey_last_days
        on journey_shapes.journey_id = journey_last_days.journey_id
    left join journeys
        on journey_shapes.journey_id = journeys.journey_id
    left join journey_fit_rules
        on journey_shapes.journey_id = journey_fit_rules.journey_id
    left join customer_touches
        on journey_shapes.customer_id = customer_touches.customer_id
)

select * from final
