{{ config(materialized='ephemeral') }}
-- Not built (ephemeral, read by nothing): one round of materialization connected_components on the
-- person graph, for unit tests and for reading. The same step macros that the materialization runs
-- as statements, once per round, here as CTEs; nodes are numbered in byte order instead of the
-- rounds' scrambled order, so that each step's rows read as identifiers: whom each identifier
-- hooked onto, which representative it got, and which edges are left for the next round.
with edges_given as (
    select * from {{ ref('int_identifiers_linked') }}
),

nodes as (
    {{ connected_components__nodes_sql('edges_given', scrambled=false) | indent(4) }}
),

edges as (
    {{ connected_components__edges_sql('edges_given', 'nodes') | indent(4) }}
),

parents as (
    {{ connected_components__hook_sql('edges') | indent(4) }}
),

representatives as (
    {{ connected_components__shortcut_sql('parents') | indent(4) }}
),

edges_left as (
    {{ connected_components__contract_sql('edges', 'representatives') | indent(4) }}
),

-- Nodes that stay where they are (roots of the round) are left out of hook and shortcut.
steps as (
    select
        'hook' as step,
        node_id as node_a,
        parent_id as node_b
    from parents
    where parent_id <> node_id
    union all
    select
        'shortcut' as step,
        node_id as node_a,
        representative_id as node_b
    from representatives
    where representative_id <> node_id
    union all
    select
        'contract' as step,
        node_lo as node_a,
        node_hi as node_b
    from edges_left
),

final as (
    select
        steps.step,
        ends_a.identifier as identifier_a,
        ends_b.identifier as identifier_b
    from steps
    inner join nodes as ends_a
        on steps.node_a = ends_a.node_id
    inner join nodes as ends_b
        on steps.node_b = ends_b.node_id
)

select * from final
