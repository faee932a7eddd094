{#
    Rows that show an identity graph's components are unfinished or wrong (a singular test per graph
    calls it; no rows = pass): the rounds ran out (is_converged false: the materialization fails
    the model first, this guards the table), an edge's two ends have different component keys, an
    identifier of an edge has no row, or a key is not the smallest identifier of its component in
    byte order.
#}
{% macro identity_components_converged(components_model, edges_model, key_column) -%}
with components as (
    select * from {{ ref(components_model) }}
),

edges as (
    select * from {{ ref(edges_model) }}
),

rounds_ran_out as (
    select distinct
        cast(null as {{ dbt.type_string() }}) as identifier_a,
        cast(null as {{ dbt.type_string() }}) as identifier_b,
        'not converged in ' || cast(rounds_needed as {{ dbt.type_string() }})
        || ' rounds: raise var identity_max_rounds' as failure
    from components
    where not is_converged
),

edges_failing as (
    -- Each edge with the rows of its two ends: an end without a row, or ends in different components.
    select
        edges.identifier_a,
        edges.identifier_b,
        case
            when (edges.identifier_a is not null and components_a.identifier is null)
                or (edges.identifier_b is not null and components_b.identifier is null)
                then 'an identifier of this edge has no row'
            when components_a.{{ key_column }} <> components_b.{{ key_column }}
                then 'the ends of this edge have different {{ key_column }}s'
        end as failure
    from edges
    left join components as components_a
        on edges.identifier_a = components_a.identifier
    left join components as components_b
        on edges.identifier_b = components_b.identifier
),

component_smallest as (
    select
        {{ key_column }},
        min({{ identity_byte_order('identifier') }}) as smallest_identifier
    from components
    group by {{ key_column }}
),

keys_not_smallest as (
    select
        {{ key_column }} as identifier_a,
        smallest_identifier as identifier_b,
        '{{ key_column }} is not the smallest identifier of its component' as failure
    from component_smallest
    where {{ key_column }} <> smallest_identifier
),

final as (
    select * from rounds_ran_out
    union all
    select * from edges_failing
    where failure is not null
    union all
    select * from keys_not_smallest
)

select * from final
{%- endmacro %}
