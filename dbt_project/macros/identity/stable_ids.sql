{#
    Stable ids for the components of an identity graph: each component's anchor is its
    earliest-seen identifier (ties broken by the smallest md5), and the id is a prefix plus the first
    16 hex digits of the anchor's salted hash (pii_hash: an anchor is often a phone). New data that does not touch a component never changes its
    anchor; a merge keeps the older anchor.
#}
{% macro stable_ids(components_model, component_column, graph, prefix) -%}
with components as (
    select * from {{ ref(components_model) }}
),

screened as (
    select * from {{ ref('int_identifiers_screened') }}
),

seen as (
    -- An identifier is seen as the record itself and as a value on records.
    select
        identifier,
        min(first_seen_at) as first_seen_at
    from (
        select record_id as identifier, first_seen_at from screened
        where graph = '{{ graph }}' and exclusion_reason is null
        union all
        select identifier, first_seen_at from screened
        where graph = '{{ graph }}' and exclusion_reason is null
    ) as sightings
    group by identifier
),

ranked as (
    select
        components.identifier,
        components.{{ component_column }} as component_key,
        row_number() over (
            partition by components.{{ component_column }}
            -- md5 breaks ties the same way on every adapter (collations order text differently)
            order by case when seen.first_seen_at is null then 1 else 0 end, seen.first_seen_at,
                {{ dbt.hash('components.identifier') }}
        ) as seniority
    from components
    left join seen
        on components.identifier = seen.identifier
),

anchors as (
    select
        component_key,
        identifier as anchor_identifier
    from ranked
    where seniority = 1
),

final as (
    select
        ranked.identifier,
        '{{ prefix }}' || substr({{ pii_hash('anchors.anchor_identifier') }}, 1, 16) as {{ 'customer_id' if graph == 'person' else 'account_id' }},
        anchors.anchor_identifier
    from ranked
    inner join anchors
        on ranked.component_key = anchors.component_key
)

select * from final
{%- endmacro %}
