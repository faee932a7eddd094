-- One row per node of the account graph with the company it belongs to (see int_persons_stitched
-- for the algorithm; the same macro and round bound).
with components as (
    {{ connected_components(ref('int_account_identifiers_linked')) | indent(4) }}
),

final as (
    select
        identifier,
        component_id as account_key,
        rounds_needed,
        is_converged
    from components
)

select * from final
