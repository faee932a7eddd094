{#
    Materialization connected_components: the connected components of an undirected graph, one
    short statement at a time.

    A model with this materialization selects the graph's edges, two varchar columns identifier_a
    and identifier_b (an edge joins the two identifiers seen on one record; a null or equal other
    end only registers the identifier), and names its component column:

        {{ config(materialized='connected_components', component_column='person_key') }}
        select identifier_a, identifier_b from {{ ref('int_identifiers_linked') }}

    The table it builds has one row per identifier named on any edge:
        identifier          - the identifier,
        <component_column>  - the smallest identifier of its component in byte order (collation
                              "C"; stable: data that does not touch a component never changes it),
        rounds_needed       - contraction rounds the graph needed,
        is_converged        - always true in a built table: when var identity_max_rounds runs out
                              the model fails instead (the column stays for its readers and tests).

    Method: min-label hooking with shortcutting and contraction, O(log n) rounds instead of label
    propagation's O(diameter). Identifiers are numbered in byte order (byte_rank), and the rounds
    work on a fixed pseudo-random permutation of those numbers (node_id, macro identity_order_key),
    so that a chain of identifiers in byte order does not contract one node per round. Each round
    is three statements on the edges left by the round before (edges_<r-1>):
        hook      parents_<r>          every node points at the smallest node of its closed
                                       neighbourhood (itself when no neighbour is smaller),
        shortcut  representatives_<r>  parent := parent's parent, twice: a node's representative is
                                       four steps up its parent chain,
        contract  edges_<r>            every edge moved onto its ends' representatives; edges inside
                                       one representative disappear, duplicates merge,
    then counts the edges left and logs "round r: n edges left". Most identity components vanish
    in round 1 and each later round only touches what is left. When no edge is left, every
    component is one representative: folding the representatives from the last round back to the
    first (roots_<r>) gives each node its root, and the smallest identifier under a root is the
    component id. After var identity_max_rounds rounds with edges still left, the model fails with
    an error naming that var, and the table of the previous run stays as it was.

    Everything runs in one transaction, in work tables of the model's schema named
    <model>__edges_given (a view of the model's select), <model>__nodes, <model>__edges_<r>,
    <model>__parents_<r>, <model>__representatives_<r> and <model>__roots_<r>; each is dropped as
    soon as the next step no longer needs it. Debugging: target/run/.../<model>.sql holds every
    statement of the last run in order, with the edges left after each round; `dbt run -s <model>
    --vars '{identity_keep_work_tables: true}'` keeps the work tables to query (the next run that
    succeeds drops them). dbt compile and dbt show show the model's select, i.e. the edges.

    Portable SQL: the statements are dbt's cross-database macros plus a few adapter.dispatch
    macros below (byte order, CTE materialization, unlogged work tables and statement settings on
    PostgreSQL). Unit tests cannot run a multi-statement model: the steps are unit tested through
    the ephemeral model int_identifier_edges_contracted (one round), and the materialization by
    tests/dbt/test_identity_components.py on DuckDB and PostgreSQL.
#}
{% materialization connected_components, default -%}
    {%- set component_column = config.require('component_column') -%}
    {%- set max_rounds = var('identity_max_rounds', 40) | int -%}
    {%- set keep_work_tables = var('identity_keep_work_tables', false) -%}
    {%- if max_rounds < 1 -%}
        {{ exceptions.raise_compiler_error(this.identifier ~ ": var identity_max_rounds must be at least 1, got " ~ max_rounds) }}
    {%- endif -%}

    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
    {%- set backup_relation_type = 'table' if existing_relation is none else existing_relation.type -%}
    {%- set backup_relation = make_backup_relation(target_relation, backup_relation_type) -%}
    {{ drop_relation_if_exists(load_cached_relation(intermediate_relation)) }}
    {{ drop_relation_if_exists(load_cached_relation(backup_relation)) }}
    {% do connected_components__drop_work_tables() %}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- set script = ["-- " ~ this ~ ": connected components of the edges the model selects (materialization connected_components)."] -%}
    {%- set settings = identity_statement_settings() | trim -%}
    {%- if settings -%}
        {% do connected_components__run(script, "settings for this transaction", settings) %}
    {%- endif -%}

    {#- The graph as integers. -#}
    {%- set edges_given = connected_components__work_relation('edges_given', type='view') -%}
    {%- set nodes = connected_components__work_relation('nodes') -%}
    {% do connected_components__run(script, "the edges, as the model selects them",
        "create view " ~ edges_given ~ " as\n" ~ connected_components__edges_given_sql(sql)) %}
    {% do connected_components__create(script, nodes,
        "every identifier once, numbered in byte order (byte_rank) and in a fixed pseudo-random order (node_id)",
        connected_components__nodes_sql(edges_given)) %}
    {%- set edges = connected_components__work_relation('edges', 0) -%}
    {% do connected_components__create(script, edges,
        "each edge once as two node ids, the smaller first; self-loops left out",
        connected_components__edges_sql(edges_given, nodes)) %}
    {%- set state = namespace(edges=edges, edges_left=connected_components__count(edges), rounds=0) -%}
    {% do connected_components__note(script, "before round 1: " ~ connected_components__number(state.edges_left) ~ " edges") %}

    {#- Rounds, until no edge is left. -#}
    {%- for round in range(1, max_rounds + 1) -%}
        {%- if state.edges_left == 0 -%}{% break %}{%- endif -%}
        {%- set parents = connected_components__work_relation('parents', round) -%}
        {%- set representatives = connected_components__work_relation('representatives', round) -%}
        {%- set edges = connected_components__work_relation('edges', round) -%}
        {% do connected_components__create(script, parents,
            "round " ~ round ~ ", hook: every node points at the smallest node of itself and its neighbours",
            connected_components__hook_sql(state.edges)) %}
        {% do connected_components__create(script, representatives,
            "round " ~ round ~ ", shortcut: parent := parent's parent, twice (four steps up the parent chain)",
            connected_components__shortcut_sql(parents)) %}
        {% do connected_components__create(script, edges,
            "round " ~ round ~ ", contract: every edge moved onto its ends' representatives",
            connected_components__contract_sql(state.edges, representatives)) %}
        {% do connected_components__drop(parents) %}
        {% do connected_components__drop(state.edges) %}
        {%- set state.edges = edges -%}
        {%- set state.edges_left = connected_components__count(edges) -%}
        {%- set state.rounds = round -%}
        {% do connected_components__note(script, "round " ~ round ~ ": " ~ connected_components__number(state.edges_left) ~ " edges left") %}
    {%- endfor -%}

    {%- if state.edges_left > 0 -%}
        {%- set message = this.identifier ~ ": " ~ connected_components__number(state.edges_left)
            ~ " edges are left after " ~ max_rounds ~ " rounds, the most var identity_max_rounds allows."
            ~ " Raise identity_max_rounds (dbt_project.yml, or --vars '{identity_max_rounds: " ~ (max_rounds * 2) ~ "}')"
            ~ " or look for an identifier that chains unrelated records;"
            ~ " --vars '{identity_keep_work_tables: true}' keeps the edges left in " ~ state.edges ~ "."
            ~ " The statements run are in target/run. The table of the previous run is unchanged." -%}
        {% do connected_components__note(script, message) %}
        {%- if keep_work_tables -%}
            {% do adapter.commit() %}
        {%- endif -%}
        {{ exceptions.raise_compiler_error(message) }}
    {%- endif -%}

    {#- Each node's root: fold the representatives from the last round back to the first. -#}
    {%- set fold = namespace(roots=none) -%}
    {%- for round in range(state.rounds, 0, -1) -%}
        {%- set representatives = connected_components__work_relation('representatives', round) -%}
        {%- set roots = connected_components__work_relation('roots', round) -%}
        {%- if fold.roots is none -%}
            {%- set title = "roots after round " ~ round ~ ", the last: its representatives" -%}
        {%- else -%}
            {%- set title = "roots after round " ~ round ~ ": each node's representative, followed to its root" -%}
        {%- endif -%}
        {% do connected_components__create(script, roots, title,
            connected_components__roots_sql(representatives, fold.roots)) %}
        {% do connected_components__drop(representatives) %}
        {%- if fold.roots is not none -%}
            {% do connected_components__drop(fold.roots) %}
        {%- endif -%}
        {%- set fold.roots = roots -%}
    {%- endfor -%}

    {%- set create_sql = get_create_table_as_sql(False, intermediate_relation,
            connected_components__components_sql(nodes, fold.roots, component_column, state.rounds)) -%}
    {% do script.append("-- the table: each identifier and the smallest identifier of its component\n"
        ~ (create_sql | trim).rstrip(";") ~ ";") %}
    {% do write(script | join("\n\n") ~ "\n") %}
    {% call statement('main') -%}
        {{ create_sql }}
    {%- endcall %}
    {%- set identifiers = connected_components__count(intermediate_relation) -%}
    {% do connected_components__drop(state.edges) %}
    {% do connected_components__drop(nodes) %}
    {% do connected_components__drop(edges_given) %}
    {% do connected_components__drop(fold.roots) %}
    {#- statement('main') wrote only its own SQL to target/run: the whole script again. -#}
    {% do write(script | join("\n\n") ~ "\n") %}

    {%- set summary = connected_components__number(identifiers) ~ " identifiers in " ~ state.rounds ~ " rounds" -%}
    {{ log(this.identifier ~ ": converged, " ~ summary ~ " (var identity_max_rounds = " ~ max_rounds ~ ")", info=True) }}
    {% do store_raw_result('main', message=summary, code='CONNECTED_COMPONENTS', rows_affected=identifiers) %}

    {% do create_indexes(intermediate_relation) %}
    {% if existing_relation is not none %}
        {% set existing_relation = load_cached_relation(existing_relation) %}
        {% if existing_relation is not none %}
            {{ adapter.rename_relation(existing_relation, backup_relation) }}
        {% endif %}
    {% endif %}
    {{ adapter.rename_relation(intermediate_relation, target_relation) }}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% set should_revoke = should_revoke(existing_relation, full_refresh_mode=True) %}
    {% do apply_grants(target_relation, config.get('grants'), should_revoke=should_revoke) %}
    {% do persist_docs(target_relation, model) %}
    {{ adapter.commit() }}
    {{ drop_relation_if_exists(backup_relation) }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{%- endmaterialization %}


{# ---- The statements: each step's select, on relations named by the caller. ---------------------- #}

{# The model's edges, as two strings (the model may select other types). #}
{% macro connected_components__edges_given_sql(model_sql) -%}
select
    cast(identifier_a as {{ dbt.type_string() }}) as identifier_a,
    cast(identifier_b as {{ dbt.type_string() }}) as identifier_b
from (
{{ model_sql | trim }}
) as model_edges
{%- endmacro %}


{#  Every identifier once. byte_rank: its place in byte order (a component's smallest rank gives its
    id). node_id: its place in the fixed pseudo-random order the rounds hook by; with
    scrambled=false, the byte rank itself (for a readable single round in unit tests). #}
{% macro connected_components__nodes_sql(edges_given, scrambled=true) -%}
with identifiers as (
    select identifier_a as identifier from {{ edges_given }} where identifier_a is not null
    union
    select identifier_b as identifier from {{ edges_given }} where identifier_b is not null
),

ranked as (
    select
        identifier,
        row_number() over (order by {{ identity_byte_order('identifier') }}) as byte_rank
    from identifiers
)

select
    identifier,
    byte_rank,
    {{ identity_order_key('byte_rank') if scrambled else 'byte_rank' }} as node_id
from ranked
{%- endmacro %}


{#  Each undirected edge once, smaller node first. Self-loops go before the joins: a `<>` between
    two joined tables can lead a planner to join them first. #}
{% macro connected_components__edges_sql(edges_given, nodes) -%}
select distinct
    least(ends_a.node_id, ends_b.node_id) as node_lo,
    greatest(ends_a.node_id, ends_b.node_id) as node_hi
from {{ edges_given }} as given
inner join {{ nodes }} as ends_a
    on given.identifier_a = ends_a.identifier
inner join {{ nodes }} as ends_b
    on given.identifier_b = ends_b.identifier
where given.identifier_a <> given.identifier_b
{%- endmacro %}


{# Hook: every node of the edges points at the smallest of itself and its neighbours. #}
{% macro connected_components__hook_sql(edges) -%}
with neighbours as (
    select node_lo as node_id, node_hi as neighbour_id from {{ edges }}
    union all
    select node_hi as node_id, node_lo as neighbour_id from {{ edges }}
)

select
    node_id,
    least(node_id, min(neighbour_id)) as parent_id
from neighbours
group by node_id
{%- endmacro %}


{#  Shortcut twice: parent := parent's parent, then once more on the result, so a node's
    representative is four steps up its parent chain (a parent is always a node of the round). #}
{% macro connected_components__shortcut_sql(parents) -%}
with grandparents as {{ identity_cte_materialization() }} (
    select
        child.node_id,
        parent.parent_id
    from {{ parents }} as child
    inner join {{ parents }} as parent
        on child.parent_id = parent.node_id
)

select
    child.node_id,
    parent.parent_id as representative_id
from grandparents as child
inner join grandparents as parent
    on child.parent_id = parent.node_id
{%- endmacro %}


{#  Contract: move every edge onto its ends' representatives, one end at a time (so that no planner
    joins the two ends first on their `<>`); edges inside one representative disappear. #}
{% macro connected_components__contract_sql(edges, representatives) -%}
with low_end_moved as {{ identity_cte_materialization() }} (
    select
        ends_lo.representative_id as moved_lo,
        edges.node_hi
    from {{ edges }} as edges
    inner join {{ representatives }} as ends_lo
        on edges.node_lo = ends_lo.node_id
)

select distinct
    least(low_end_moved.moved_lo, ends_hi.representative_id) as node_lo,
    greatest(low_end_moved.moved_lo, ends_hi.representative_id) as node_hi
from low_end_moved
inner join {{ representatives }} as ends_hi
    on low_end_moved.node_hi = ends_hi.node_id
where low_end_moved.moved_lo <> ends_hi.representative_id
{%- endmacro %}


{#  A node's root after round r: its representative of round r, followed through the roots of round
    r + 1 (`later_roots`; none for the last round, whose representatives are the roots). Every node
    of round r + 1 was a node of round r, so the fold covers every node that ever had an edge. #}
{% macro connected_components__roots_sql(representatives, later_roots) -%}
{%- if later_roots is none -%}
select
    node_id,
    representative_id as root_id
from {{ representatives }}
{%- else -%}
select
    moved.node_id,
    coalesce(later.root_id, moved.representative_id) as root_id
from {{ representatives }} as moved
left join {{ later_roots }} as later
    on moved.representative_id = later.node_id
{%- endif -%}
{%- endmacro %}


{#  The model's rows: every identifier with the smallest identifier under its root (a node that
    never had an edge is its own root). #}
{% macro connected_components__components_sql(nodes, roots, component_column, rounds_needed) -%}
with node_roots as (
    select
        nodes.identifier,
        nodes.byte_rank,
        {{ 'nodes.node_id' if roots is none else 'coalesce(roots.root_id, nodes.node_id)' }} as root_id
    from {{ nodes }} as nodes
    {%- if roots is not none %}
    left join {{ roots }} as roots
        on nodes.node_id = roots.node_id
    {%- endif %}
),

component_ranks as (
    select
        root_id,
        min(byte_rank) as component_rank
    from node_roots
    group by root_id
)

select
    node_roots.identifier,
    component_nodes.identifier as {{ component_column }},
    cast({{ rounds_needed }} as {{ dbt.type_int() }}) as rounds_needed,
    true as is_converged
from node_roots
inner join component_ranks
    on node_roots.root_id = component_ranks.root_id
inner join {{ nodes }} as component_nodes
    on component_ranks.component_rank = component_nodes.byte_rank
{%- endmacro %}


{# ---- Running them: work tables, the script in target/run, counts. ------------------------------ #}

{# The work relation `<model>__<step>[_<round>]` in the model's schema. #}
{% macro connected_components__work_relation(step, round=none, type='table') -%}
    {%- set suffix = '' if round is none else '_' ~ '{:02d}'.format(round) -%}
    {{ return(api.Relation.create(database=this.database, schema=this.schema,
                                  identifier=this.identifier ~ '__' ~ step ~ suffix, type=type)) }}
{%- endmacro %}


{# Drops the work relations a run left behind (var identity_keep_work_tables), and nothing else. #}
{% macro connected_components__drop_work_tables() -%}
    {%- set schema_relation = api.Relation.create(database=this.database, schema=this.schema) -%}
    {%- set pattern = modules.re.escape(this.identifier) ~ '__(edges_given|nodes|(edges|parents|representatives|roots)_[0-9]+)' -%}
    {%- for name in connected_components__relation_names(schema_relation) -%}
        {%- if modules.re.fullmatch(pattern, name, modules.re.IGNORECASE) -%}
            {% do adapter.drop_relation(api.Relation.create(database=this.database, schema=this.schema, identifier=name,
                                                            type='view' if name.endswith('__edges_given') else 'table')) %}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}


{#  The names of the relations in the model's schema (the work relations' names tell their type). On Spark a
    short `show tables` of the model's own names: dbt-spark's listing describes every table of the schema,
    and fails when another thread replaces one meanwhile. #}
{% macro connected_components__relation_names(schema_relation) -%}
    {{ return(adapter.dispatch('connected_components__relation_names', 'leadloop')(schema_relation)) }}
{%- endmacro %}

{% macro default__connected_components__relation_names(schema_relation) -%}
    {{ return(list_relations_without_caching(schema_relation) | map(attribute='name') | list) }}
{%- endmacro %}

{% macro spark__connected_components__relation_names(schema_relation) -%}
    {%- set listed = run_query("show tables in " ~ schema_relation.schema ~ " like '" ~ this.identifier ~ "__*'") -%}
    {{ return(listed.columns['tableName'].values() | list) }}
{%- endmacro %}


{# Runs one statement, after adding it to the script in target/run (written first, so a failing
   statement is the script's last). #}
{% macro connected_components__run(script, title, sql) -%}
    {%- do script.append("-- " ~ title ~ "\n" ~ (sql | trim) ~ ";") -%}
    {%- do write(script | join("\n\n") ~ "\n") -%}
    {%- call statement('connected_components_step') -%}
        {{ sql }}
    {%- endcall -%}
{%- endmacro %}


{% macro connected_components__create(script, relation, title, select_sql) -%}
    {%- do connected_components__run(script, title,
            connected_components__create_work_table() ~ " " ~ relation ~ " as\n" ~ select_sql) -%}
{%- endmacro %}


{# A note in the script and in dbt's log. #}
{% macro connected_components__note(script, message) -%}
    {%- do script.append("-- " ~ message) -%}
    {%- do write(script | join("\n\n") ~ "\n") -%}
    {{ log(this.identifier ~ ": " ~ message, info=True) }}
{%- endmacro %}


{% macro connected_components__drop(relation) -%}
    {%- if relation is not none and not var('identity_keep_work_tables', false) -%}
        {% do adapter.drop_relation(relation) %}
    {%- endif -%}
{%- endmacro %}


{% macro connected_components__count(relation) -%}
    {%- set counted = run_query("select count(*) as row_count from " ~ relation) -%}
    {{ return(counted.columns[0].values()[0] | int) }}
{%- endmacro %}


{% macro connected_components__number(value) -%}
    {{ return('{:,}'.format(value | int)) }}
{%- endmacro %}


{# ---- What differs between databases. ------------------------------------------------------------ #}

{#  The node_id of the identifier with byte rank `byte_rank`: a quadratic polynomial of the rank
    modulo the prime 2^31 - 1 (portable integer arithmetic, every product below 2^62) in the high
    bits, the rank itself in the low 32 bits (so node ids are unique). The rank is cast to bigint first:
    row_number is a 32-bit integer on Spark. A fixed pseudo-random order:
    the same identifiers always get the same node ids, so rounds_needed is reproducible. Ranks must
    stay below 2^31 (about two billion identifiers). #}
{% macro identity_order_key(byte_rank) -%}
    {%- set rank = dbt.cast(byte_rank, dbt.type_bigint()) -%}
    ((((1588635695 * {{ rank }} + 1117695901) % 2147483647) * {{ rank }} + 739391) % 2147483647) * 4294967296 + {{ rank }}
{%- endmacro %}


{# How work tables are created: unlogged on PostgreSQL (they live for one transaction; no WAL). #}
{% macro connected_components__create_work_table() -%}
    {{ return(adapter.dispatch('connected_components__create_work_table', 'leadloop')()) }}
{%- endmacro %}

{% macro default__connected_components__create_work_table() -%}
    create table
{%- endmacro %}

{% macro postgres__connected_components__create_work_table() -%}
    create unlogged table
{%- endmacro %}


{# Keyword that makes a CTE be computed once (the steps read some CTEs twice). #}
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


{#  Settings for the transaction the rounds run in. PostgreSQL would JIT-compile statements over
    large work tables for longer than they run (their costs pass jit_above_cost); `set local` ends
    with the transaction. #}
{% macro identity_statement_settings() -%}
    {{ return(adapter.dispatch('identity_statement_settings', 'leadloop')()) }}
{%- endmacro %}

{% macro default__identity_statement_settings() -%}
{%- endmacro %}

{% macro postgres__identity_statement_settings() -%}
    set local jit = off
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
