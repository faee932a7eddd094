{#
    Connected components of an undirected graph of identifiers, in set-based SQL.

    `edges` is a relation (or CTE name) with varchar columns identifier_a and identifier_b; an edge
    joins the two identifiers seen on one record. Returns one row per identifier named on any edge
    (a null or equal other end only registers the identifier) with
        component_id  - the smallest identifier of its component in byte order (stable: data that
                        does not touch a component never changes its id),
        rounds_needed - contraction rounds the graph needed,
        is_converged  - false when `max_rounds` (var identity_max_rounds) was too few: the
                        components are then unfinished; the convergence test fails the build.

    Method: min-label hooking with shortcutting and contraction, O(log n) rounds instead of
    min-label propagation's O(diameter). Identifiers are numbered in byte order, and the rounds
    work on a fixed pseudo-random permutation of those numbers (node_id), so that a chain of
    identifiers in byte order does not contract one node per round. Each round
        1. hooks every node to the smallest node_id of its closed neighbourhood,
        2. shortcuts twice (parent := parent of parent), so short hook chains end at their root,
        3. contracts: every edge is moved onto its ends' representatives; edges inside one
           representative disappear, duplicates merge.
    The edge set shrinks quickly (most identity components vanish in round 1), and each later
    round only touches what is left. When no edge is left, every component is one representative;
    following each node's representatives from round 1 onwards gives its root, and the smallest
    identifier under a root is the component id. Rounds are unrolled as CTEs (materialized where
    the adapter allows), so the result is one statement that dbt unit tests can run; rounds after
    convergence work on empty sets and cost nothing.
#}
{% macro connected_components(edges, max_rounds=none) -%}
    {%- set rounds = (var('identity_max_rounds', 40) if max_rounds is none else max_rounds) | int -%}
    {%- if rounds < 1 -%}
        {{ exceptions.raise_compiler_error("connected_components: identity_max_rounds must be at least 1, got " ~ rounds) }}
    {%- endif -%}
    {%- set materialized = identity_cte_materialization() -%}
    {#- Sets the calling model's sql_header (dbt reads it when it parses the model). -#}
    {%- call set_sql_header(config) -%}{{ identity_statement_settings() }}{%- endcall -%}
with edges_given as (
    select
        cast(identifier_a as {{ dbt.type_string() }}) as identifier_a,
        cast(identifier_b as {{ dbt.type_string() }}) as identifier_b
    from {{ edges }}
),

identifiers as (
    select identifier_a as identifier from edges_given where identifier_a is not null
    union
    select identifier_b as identifier from edges_given where identifier_b is not null
),

-- byte_rank: the identifier's place in byte order (a component's smallest rank is its id);
-- node_id: its place in the fixed pseudo-random order the rounds hook by.
ranked as (
    select
        identifier,
        row_number() over (order by {{ identity_byte_order('identifier') }}) as byte_rank
    from identifiers
),

nodes as {{ materialized }} (
    select
        identifier,
        byte_rank,
        {{ identity_order_key('byte_rank') }} as node_id
    from ranked
),

-- Each undirected edge once, smaller node first; self-loops and duplicates dropped. (Self-loops
-- go before the joins: a `<>` between two joined tables can lead a planner to join them first.)
edges_0 as {{ materialized }} (
    select distinct
        least(ends_a.node_id, ends_b.node_id) as node_lo,
        greatest(ends_a.node_id, ends_b.node_id) as node_hi
    from edges_given
    inner join nodes as ends_a
        on edges_given.identifier_a = ends_a.identifier
    inner join nodes as ends_b
        on edges_given.identifier_b = ends_b.identifier
    where edges_given.identifier_a <> edges_given.identifier_b
),
{% for round in range(1, rounds + 1) %}
-- Round {{ round }}: hook every node to the smallest node of its closed neighbourhood, shortcut
-- twice (parent := parent's parent), move every edge onto its ends' representatives (one end at a
-- time, one join per CTE, so that no planner joins the two ends first on their `<>`).
neighbours_{{ round }} as (
    select node_lo as node_id, node_hi as neighbour_id from edges_{{ round - 1 }}
    union all
    select node_hi as node_id, node_lo as neighbour_id from edges_{{ round - 1 }}
),

hooked_{{ round }} as {{ materialized }} (
    select
        node_id,
        least(node_id, min(neighbour_id)) as parent_id
    from neighbours_{{ round }}
    group by node_id
),

shortcut_{{ round }} as {{ materialized }} (
    select
        child.node_id,
        parent.parent_id
    from hooked_{{ round }} as child
    inner join hooked_{{ round }} as parent
        on child.parent_id = parent.node_id
),

representatives_{{ round }} as {{ materialized }} (
    select
        child.node_id,
        parent.parent_id as representative_id
    from shortcut_{{ round }} as child
    inner join shortcut_{{ round }} as parent
        on child.parent_id = parent.node_id
),

moved_{{ round }} as {{ materialized }} (
    select
        ends_lo.representative_id as moved_lo,
        contracted.node_hi
    from edges_{{ round - 1 }} as contracted
    inner join representatives_{{ round }} as ends_lo
        on contracted.node_lo = ends_lo.node_id
),

edges_{{ round }} as {{ materialized }} (
    select distinct
        least(moved_{{ round }}.moved_lo, ends_hi.representative_id) as node_lo,
        greatest(moved_{{ round }}.moved_lo, ends_hi.representative_id) as node_hi
    from moved_{{ round }}
    inner join representatives_{{ round }} as ends_hi
        on moved_{{ round }}.node_hi = ends_hi.node_id
    where moved_{{ round }}.moved_lo <> ends_hi.representative_id
),
{% endfor %}
-- A node's root: follow its representatives from the last round back to the first.
roots_{{ rounds }} as (
    select
        node_id,
        representative_id as root_id
    from representatives_{{ rounds }}
),
{% for round in range(rounds - 1, 0, -1) %}
roots_{{ round }} as {{ materialized }} (
    select
        representatives_{{ round }}.node_id,
        coalesce(roots_{{ round + 1 }}.root_id, representatives_{{ round }}.representative_id) as root_id
    from representatives_{{ round }}
    left join roots_{{ round + 1 }}
        on representatives_{{ round }}.representative_id = roots_{{ round + 1 }}.node_id
),
{% endfor %}
node_roots as (
    select
        nodes.identifier,
        nodes.byte_rank,
        coalesce(roots_1.root_id, nodes.node_id) as root_id
    from nodes
    left join roots_1
        on nodes.node_id = roots_1.node_id
),

component_ranks as (
    select
        root_id,
        min(byte_rank) as component_rank
    from node_roots
    group by root_id
),

-- Rounds that found edges to contract; converged when none are left after the last round.
convergence as (
    select
        {% for round in range(rounds) -%}
        (case when exists (select 1 from edges_{{ round }}) then 1 else 0 end){{ ' +' if not loop.last }}
        {% endfor -%}
        as rounds_needed,
        not exists (select 1 from edges_{{ rounds }}) as is_converged
),

final as (
    select
        node_roots.identifier,
        component_nodes.identifier as component_id,
        convergence.rounds_needed,
        convergence.is_converged
    from node_roots
    inner join component_ranks
        on node_roots.root_id = component_ranks.root_id
    inner join nodes as component_nodes
        on component_ranks.component_rank = component_nodes.byte_rank
    cross join convergence
)

select * from final
{%- endmacro %}


{#
    The node_id of the identifier with byte rank `byte_rank`: a quadratic polynomial of the rank
    modulo the prime 2^31 - 1 (portable integer arithmetic, every product below 2^62) in the high
    bits, the rank itself in the low 32 bits (so node ids are unique). A fixed pseudo-random order:
    the same identifiers always get the same node ids, so rounds_needed is reproducible. Ranks must
    stay below 2^31 (about two billion identifiers).
#}
{% macro identity_order_key(byte_rank) -%}
    ((((1588635695 * {{ byte_rank }} + 1117695901) % 2147483647) * {{ byte_rank }} + 739391) % 2147483647) * 4294967296 + {{ byte_rank }}
{%- endmacro %}


{# Keyword that makes a CTE be computed once (rounds refer to the previous round more than once). #}
{% macro identity_cte_materialization() -%}
    {{ return(adapter.dispatch('identity_cte_materialization', 'leadloop')()) }}
{%- endmacro %}

{% macro default__identity_cte_materialization() -%}
{%- endmacro %}

{% macro duckdb__identity_cte_materialization() -%}
    materialized
{%- endmacro %}

{% macro postgres__identity_cte_materialization() -%}
    materialized
{%- endmacro %}


{#
    Settings for the statement that runs the rounds. Postgres would JIT-compile the unrolled rounds
    (thousands of expressions, and cost estimates that multiply over CTE joins) for far longer
    than they run: 16 s of JIT for a 2 s query on 100k edges. `set local` ends with the
    transaction dbt runs the model in.
#}
{% macro identity_statement_settings() -%}
    {{ return(adapter.dispatch('identity_statement_settings', 'leadloop')()) }}
{%- endmacro %}

{% macro default__identity_statement_settings() -%}
{%- endmacro %}

{% macro postgres__identity_statement_settings() -%}
    set local jit = off;
{%- endmacro %}


{# An identifier for ordering by bytes, whatever the database's default collation. #}
{% macro identity_byte_order(column) -%}
    {{ return(adapter.dispatch('identity_byte_order', 'leadloop')(column)) }}
{%- endmacro %}

{% macro default__identity_byte_order(column) -%}
    {{ column }}
{%- endmacro %}

{% macro duckdb__identity_byte_order(column) -%}
    {{ column }} collate "C"
{%- endmacro %}

{% macro postgres__identity_byte_order(column) -%}
    {{ column }} collate "C"
{%- endmacro %}
