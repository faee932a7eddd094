-- One row per journey and day it is scored on (architecture §5): every business day from the day its lead
-- was created up to the day it closed (won or lost), or up to the day of the newest touch or record in the
-- warehouse while it is open, so a replayed night gives the same days. Each day carries the rule set in
-- force on it (int_scoring_rule_sets_ranged) and the weight of the journey's region under that rule set
-- (seed scoring_region_weights; 1 for a region it does not list). Days before the first rule set are not
-- scored.
with journeys as (
    select * from {{ ref('fct_lead_journeys') }}
),

touchpoints as (
    select * from {{ ref('fct_touchpoints') }}
),

rule_sets as (
    select * from {{ ref('int_scoring_rule_sets_ranged') }}
),

region_weights as (
    select * from {{ ref('scoring_region_weights') }}
),

regions as (
    select * from {{ ref('int_journey_attributes_collected') }}
    where attribute_name = 'province'
),

data_as_of as (
    -- The newest touch or journey event in the warehouse is "today".
    select
        {{ business_day('max(as_of_at)') }} as as_of_on
    from (
        select max(touched_at) as as_of_at from touchpoints
        union all
        select max(lead_at) as as_of_at from journeys
        union all
        select max(won_at) as as_of_at from journeys
        union all
        select max(lost_at) as as_of_at from journeys
    ) as newest
),

journey_spans as (
    select
        journeys.journey_id,
        journeys.customer_id,
        {{ business_day('journeys.lead_at') }} as lead_on,
        case
            when journeys.won_at is not null or journeys.lost_at is not null
                then {{ business_day('coalesce(journeys.won_at, journeys.lost_at)') }}
        end as closed_on,
        data_as_of.as_of_on
    from journeys
    cross join data_as_of
    where journeys.lead_at is not null
),

journey_ranges as (
    -- A deal closed before its lead was created (a lead added later to an old deal) is scored on its lead day.
    select
        journey_id,
        customer_id,
        lead_on,
        closed_on,
        case
            when closed_on is null or closed_on > as_of_on then as_of_on
            when closed_on < lead_on then lead_on
            else closed_on
        end as last_scored_on
    from journey_spans
),

day_numbers as (
    -- Up to 100 years of days; the join below keeps those a journey spans.
    {{ dbt.generate_series(36600) }}
),

bounds as (
    select
        min(lead_on) as first_on,
        max(last_scored_on) as last_on
    from journey_ranges
),

days as (
    select
        cast({{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'bounds.first_on') }} as date) as score_on
    from bounds
    cross join day_numbers
    where day_numbers.generated_number - 1 <= {{ dbt.datediff('bounds.first_on', 'bounds.last_on', 'day') }}
),

final as (
    select
        journey_ranges.journey_id,
        journey_ranges.customer_id,
        days.score_on,
        journey_ranges.lead_on,
        journey_ranges.closed_on,
        rule_sets.rule_set_version,
        regions.attribute_value as province,
        cast(coalesce(region_weights.weight, 1) as decimal(6, 3)) as region_weight
    from journey_ranges
    inner join days
        on journey_ranges.lead_on <= days.score_on
        and journey_ranges.last_scored_on >= days.score_on
    inner join rule_sets
        on days.score_on >= rule_sets.effective_from
        and (rule_sets.effective_to is null or days.score_on < rule_sets.effective_to)
    left join regions
        on journey_ranges.journey_id = regions.journey_id
    left join region_weights
        on rule_sets.rule_set_version = region_weights.rule_set_version
        and regions.attribute_value = lower(trim(region_weights.province))
)

select * from final
