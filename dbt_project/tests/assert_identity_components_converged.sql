{{ config(meta={"dagster": {"ref": {"name": "int_persons_stitched"}}}) }}
-- int_persons_stitched holds finished persons: the contraction converged within var
-- identity_max_rounds, both ends of every edge of int_identifiers_linked have the same person_key,
-- every identifier on an edge has a row, and each person_key is the smallest identifier of its person.
{{ identity_components_converged('int_persons_stitched', 'int_identifiers_linked', 'person_key') }}
