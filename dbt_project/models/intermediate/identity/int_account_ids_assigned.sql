-- A stable account_id for every node of the account graph, anchored like customer ids.
{{ stable_ids('int_accounts_stitched', 'account_key', 'account', 'acc_') }}
