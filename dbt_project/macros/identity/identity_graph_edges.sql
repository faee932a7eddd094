{# Edges of one identity graph ('person' or 'account'): a record and each usable identifier it
   carries (blocked and hub identifiers left out). A record's own row links it to itself, so a record
   with nothing usable is still a node. #}
{% macro identity_graph_edges(graph) -%}
with screened as (
    select * from {{ ref('int_identifiers_screened') }}
),

final as (
    select distinct
        record_id as identifier_a,
        identifier as identifier_b
    from screened
    where graph = '{{ graph }}'
        and exclusion_reason is null
)

select * from final
{%- endmacro %}
