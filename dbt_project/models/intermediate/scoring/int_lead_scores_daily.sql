-- One row per journey and day (architecture §5): the lead's rules-based score as it stood that day, under
-- the rule set in force that day (seeds scoring_*; int_journey_days_spanned). Fit: the points of every fit
-- rule the journey matches (int_journey_fit_rules_matched); behaviour: the decayed, capped points of its
-- person's touches up to that day (int_customer_behaviour_points_decayed, expanded here to the day); both
-- times the weight of the journey's region, rounded to 2 places. A day's row depends only on that day's rules and earlier touches,
-- so a rule set added later, or a touch on a later day, never changes it. Grade and MQL by score follow vars
-- lead_score_grades and lead_score_mql_threshold. Incremental per journey (macros/incremental): a night
-- derives the new days of each journey, and every day of a journey whose inputs changed
-- (int_journey_scoring_inputs_digested). Published as mart_lead_scores.
{%- set reason_count = lead_score_reason_count() %}
{%- set score_vars = ['lead_score_grades', 'lead_score_mql_threshold', 'lead_score_reason_count', 'business_time_zone'] %}
{{ journey_days_incremental(score_vars) }}

with digests as (
    select * from {{ ref('int_journey_scoring_inputs_digested') }}
),

journey_days as (
    {{ journey_days_to_derive() }}
),

journeys as (
    select * from {{ ref('fct_lead_journeys') }}
),

fit_rules as (
    select * from {{ ref('int_journey_fit_rules_matched') }}
),

behaviour_touch_days as (
    select * from {{ ref('int_customer_behaviour_points_decayed') }}
),

behaviour_decayed as (
    -- Each rule of the day's rule set with touches of its person by then: its last touch day's points,
    -- decayed for the days since, kept to 6 places.
    select
        journey_days.journey_id,
        journey_days.score_on,
        behaviour_touch_days.rule_id,
        behaviour_touch_days.touch_type,
        behaviour_touch_days.cap,
        behaviour_touch_days.touch_count,
        cast(
            behaviour_touch_days.decayed_points * power(
                cast(0.5 as {{ type_double() }}),
                cast({{ dbt.datediff('behaviour_touch_days.touched_on', 'journey_days.score_on', 'day') }} as {{ type_double() }})
                / cast(behaviour_touch_days.half_life_days as {{ type_double() }})
            )
            as decimal(18, 6)
        ) as decayed_points
    from journey_days
    inner join behaviour_touch_days
        on journey_days.customer_id = behaviour_touch_days.customer_id
        and journey_days.rule_set_version = behaviour_touch_days.rule_set_version
        and journey_days.score_on >= behaviour_touch_days.touched_on
        and (behaviour_touch_days.next_touched_on is null or journey_days.score_on < behaviour_touch_days.next_touched_on)
),

behaviour_rules as (
    -- The cap applies after the decay.
    select
        journey_id,
        score_on,
        rule_id,
        touch_type,
        touch_count,
        cast(
            case
                when cap is null then decayed_points
                when decayed_points > cap then cap
                when decayed_points < -1 * cap then -1 * cap
                else decayed_points
            end as decimal(18, 6)
        ) as points
    from behaviour_decayed
),

fit_by_rule_set as (
    select
        journey_id,
        rule_set_version,
        sum(points) as fit_points
    from fit_rules
    group by journey_id, rule_set_version
),

behaviour_by_day as (
    select
        journey_id,
        score_on,
        sum(points) as behaviour_points
    from behaviour_rules
    group by journey_id, score_on
),

scored as (
    select
        journey_days.journey_id,
        journey_days.customer_id,
        journey_days.score_on,
        journey_days.rule_set_version,
        journey_days.province,
        journey_days.region_weight,
        cast(round(coalesce(fit_by_rule_set.fit_points, 0) * journey_days.region_weight, 2) as decimal(12, 2))
            as fit_score,
        cast(round(coalesce(behaviour_by_day.behaviour_points, 0) * journey_days.region_weight, 2) as decimal(12, 2))
            as behaviour_score
    from journey_days
    left join fit_by_rule_set
        on journey_days.journey_id = fit_by_rule_set.journey_id
        and journey_days.rule_set_version = fit_by_rule_set.rule_set_version
    left join behaviour_by_day
        on journey_days.journey_id = behaviour_by_day.journey_id
        and journey_days.score_on = behaviour_by_day.score_on
),

reasons as (
    -- Every rule that gave points that day, as the text a seller reads: its label for a fit rule, the
    -- number of touches and their type for a behaviour rule; points before the region weight.
    select
        journey_days.journey_id,
        journey_days.score_on,
        1 as rule_kind,
        fit_rules.rule_id,
        fit_rules.points,
        fit_rules.reason_label as reason
    from journey_days
    inner join fit_rules
        on journey_days.journey_id = fit_rules.journey_id
        and journey_days.rule_set_version = fit_rules.rule_set_version
    union all
    select
        journey_id,
        score_on,
        2 as rule_kind,
        rule_id,
        points,
        {{ dbt.concat([dbt.cast('touch_count', dbt.type_string()), "'× '", 'touch_type']) }} as reason
    from behaviour_rules
),

reasons_ranked as (
    select
        journey_id,
        score_on,
        {{ dbt.concat(['reason', "' '", signed_points_text('points')]) }} as reason_text,
        row_number() over (
            partition by journey_id, score_on
            order by abs(round(points, 2)) desc, rule_kind asc, rule_id asc
        ) as reason_rank
    from reasons
    where round(points, 2) <> 0
),

top_reasons as (
    -- One column per rank, joined in rank order: a plain aggregate, where an ordered listagg held every
    -- journey day's texts in memory at once (100× the demo: 15 M journey days).
    select
        journey_id,
        score_on,
        {%- for rank in range(1, reason_count + 1) %}
        max(case when reason_rank = {{ rank }} then reason_text end) as reason_{{ rank }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from reasons_ranked
    where reason_rank <= {{ reason_count }}
    group by journey_id, score_on
),

top_reasons_joined as (
    select
        journey_id,
        score_on,
        {%- set joined = ['reason_1'] %}
        {%- for rank in range(2, reason_count + 1) %}
        {%- do joined.append("coalesce(" ~ dbt.concat(["'; '", 'reason_' ~ rank]) ~ ", '')") %}
        {%- endfor %}
        {{ dbt.concat(joined) if joined | length > 1 else joined[0] }} as top_reasons
    from top_reasons
),

scores as (
    select
        scored.journey_id,
        scored.customer_id,
        journeys.account_id,
        scored.score_on,
        scored.rule_set_version,
        scored.province,
        scored.region_weight,
        scored.fit_score,
        scored.behaviour_score,
        cast(scored.fit_score + scored.behaviour_score as decimal(12, 2)) as total_score,
        {{ lead_score_grade('scored.fit_score + scored.behaviour_score') }} as lead_grade,
        scored.fit_score + scored.behaviour_score >= {{ lead_score_mql_threshold() }} as is_mql_by_score,
        case
            when scored.region_weight <> 1 then {{ dbt.concat([
                "coalesce(top_reasons.top_reasons, '')",
                "case when top_reasons.top_reasons is null then '' else '; ' end",
                "'地区权重 ×'",
                points_text('scored.region_weight'),
            ]) }}
            else top_reasons.top_reasons
        end as top_reasons
    from scored
    inner join journeys
        on scored.journey_id = journeys.journey_id
    left join top_reasons_joined as top_reasons
        on scored.journey_id = top_reasons.journey_id
        and scored.score_on = top_reasons.score_on
),

final as (
    select
        scores.*,
        {{ partition_bookkeeping('digests.inputs_digest', score_vars) }}
    from scores
    inner join digests
        on scores.journey_id = digests.journey_id
)

select * from final
