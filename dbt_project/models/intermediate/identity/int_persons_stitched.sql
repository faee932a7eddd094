-- One row per identifier with the person it belongs to: the connected component of the identifier
-- graph (macro connected_components; the rounds are bounded by var identity_max_rounds).
with components as (
    {{ connected_components(ref('int_identifiers_linked')) | indent(4) }}
),

final as (
    select
        identifier,
        component_id as person_key,
        rounds_needed,
        is_converged
    from components
)

select * from final
