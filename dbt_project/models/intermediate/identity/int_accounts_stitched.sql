{{ config(materialized='connected_components', component_column='account_key') }}
-- One row per node of the account graph with the company it belongs to: the connected component,
-- keyed by its smallest identifier (the same materialization and round bound as int_persons_stitched).
-- This select is its input: the graph's edges.
select
    identifier_a,
    identifier_b
from {{ ref('int_account_identifiers_linked') }}
