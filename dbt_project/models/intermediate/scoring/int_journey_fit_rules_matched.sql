-- Every fit rule (seed scoring_fit_rules) each journey matches, under every rule set: one row per journey,
-- rule set and rule, with the rule's points. A rule matches when any value of its attribute
-- (int_journey_attributes_collected) passes its operator, ignoring case:
--   in       the value is one of the '|'-separated values;
--   matches  the value contains a match of the regular expression;
--   between  the value, a number, lies within 'low|high' (both included; an empty side is open).
-- A rule counts once per journey however many values match it. Unknown operators and attributes fail the
-- seed's tests before this model is built.
with attributes as (
    select * from {{ ref('int_journey_attributes_collected') }}
),

rules as (
    select
        cast(rule_set_version as {{ dbt.type_string() }}) as rule_set_version,
        cast(rule_id as {{ dbt.type_string() }}) as rule_id,
        lower(trim(attribute_name)) as attribute_name,
        lower(trim(match_operator)) as match_operator,
        lower(trim(match_value)) as match_value,
        cast(points as decimal(12, 2)) as points,
        cast(reason_label as {{ dbt.type_string() }}) as reason_label
    from {{ ref('scoring_fit_rules') }}
),

bounded_rules as (
    select
        rules.*,
        case when rules.match_operator = 'between' then
            cast(nullif(trim({{ dbt.split_part('rules.match_value', "'|'", 1) }}), '') as decimal(18, 2))
        end as lower_bound,
        case when rules.match_operator = 'between' then
            cast(nullif(trim({{ dbt.split_part('rules.match_value', "'|'", 2) }}), '') as decimal(18, 2))
        end as upper_bound
    from rules
),

numeric_attributes as (
    select
        attributes.*,
        case
            when {{ regex_search('attributes.attribute_value', "'^-?[0-9]+([.][0-9]+)?$'") }}
                then cast(attributes.attribute_value as decimal(18, 2))
        end as numeric_value
    from attributes
),

matched as (
    select distinct
        numeric_attributes.journey_id,
        bounded_rules.rule_set_version,
        bounded_rules.rule_id,
        bounded_rules.attribute_name,
        bounded_rules.points,
        bounded_rules.reason_label
    from numeric_attributes
    inner join bounded_rules
        on numeric_attributes.attribute_name = bounded_rules.attribute_name
    where
        (
            bounded_rules.match_operator = 'in'
            and {{ dbt.position(
                dbt.concat(["'|'", 'numeric_attributes.attribute_value', "'|'"]),
                dbt.concat(["'|'", 'bounded_rules.match_value', "'|'"])) }} > 0
        )
        or (
            -- A case, so that no warehouse applies another operator's value as a pattern.
            case
                when bounded_rules.match_operator = 'matches'
                    then {{ regex_search('numeric_attributes.attribute_value', 'bounded_rules.match_value') }}
                else false
            end
        )
        or (
            bounded_rules.match_operator = 'between'
            and numeric_attributes.numeric_value is not null
            and (bounded_rules.lower_bound is null or numeric_attributes.numeric_value >= bounded_rules.lower_bound)
            and (bounded_rules.upper_bound is null or numeric_attributes.numeric_value <= bounded_rules.upper_bound)
        )
)

select * from matched
