{{ config(materialized='connected_components', component_column='person_key') }}
-- One row per identifier with the person it belongs to: the connected component of the person
-- graph, keyed by its smallest identifier. The materialization (macros/identity/connected_components.sql)
-- runs one short statement per step and round, at most var identity_max_rounds rounds, and
-- writes every statement it ran to target/run. This select is its input: the graph's edges.
select
    identifier_a,
    identifier_b
from {{ ref('int_identifiers_linked') }}
