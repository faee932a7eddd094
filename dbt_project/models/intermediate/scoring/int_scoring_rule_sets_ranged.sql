-- Every lead-scoring rule set (seed scoring_rule_sets) with the days it is in force: from its
-- effective_from until the next rule set's (effective_to, exclusive; null while it is the latest).
-- A new rule set with a later date ends the one before it on that day and changes nothing earlier.
with rule_sets as (
    select * from {{ ref('scoring_rule_sets') }}
),

ranged as (
    select
        cast(rule_set_version as {{ dbt.type_string() }}) as rule_set_version,
        cast(effective_from as date) as effective_from,
        cast(lead(effective_from) over (order by effective_from) as date) as effective_to
    from rule_sets
)

select * from ranged
