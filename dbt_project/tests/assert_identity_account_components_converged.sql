{{ config(meta={"dagster": {"ref": {"name": "int_accounts_stitched"}}}) }}
-- int_accounts_stitched holds finished companies: the contraction converged within var
-- identity_max_rounds, both ends of every edge of int_account_identifiers_linked have the same
-- account_key, every identifier on an edge has a row, and each account_key is the smallest
-- identifier of its company.
{{ identity_components_converged('int_accounts_stitched', 'int_account_identifiers_linked', 'account_key') }}
