-- Lead-scoring seeds an analyst edits: every row returned names the seed, the rule and what to fix.
-- (Unknown operators and touch types fail the seeds' accepted_values tests.) It reads several seeds; Dagster
-- shows it as a check of the fit rules.
{{ config(meta={'dagster': {'ref': {'name': 'scoring_fit_rules'}}}) }}
select
    'scoring_fit_rules' as seed,
    rule_set_version,
    rule_id,
    'match_operator between needs match_value low|high (numbers, either side may be empty), got ' || match_value as problem
from {{ ref('scoring_fit_rules') }}
where lower(trim(match_operator)) = 'between'
    and not {{ regex_search('trim(match_value)', "'^(-?[0-9]+([.][0-9]+)?)? *[|] *(-?[0-9]+([.][0-9]+)?)?$'") }}

union all

select
    'scoring_fit_rules' as seed,
    rule_set_version,
    rule_id,
    'attribute_name ' || attribute_name || ' is none of {{ fit_rule_attribute_names() | join(", ") }}'
        || ' (a custom CRM field needs custom.<column> and the column in var crm_custom_fields)' as problem
from {{ ref('scoring_fit_rules') }}
where lower(trim(attribute_name)) not in (
    {%- for name in fit_rule_attribute_names() %}'{{ name }}'{{ ', ' if not loop.last }}{% endfor -%}
)

union all

select
    'scoring_behaviour_rules' as seed,
    rule_set_version,
    rule_id,
    'half_life_days must be more than 0 and cap at least 0' as problem
from {{ ref('scoring_behaviour_rules') }}
where half_life_days <= 0 or cap < 0

union all

select
    'scoring_region_weights' as seed,
    rule_set_version,
    province as rule_id,
    'weight must be at least 0' as problem
from {{ ref('scoring_region_weights') }}
where weight < 0
