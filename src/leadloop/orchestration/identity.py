"""The identifier observations asset: every raw record's identifiers, normalised in Python.

It sits between the raw tables and dbt's identity models (which build the person and account
graphs in SQL), so the lineage in the UI runs raw table → observations → stitched customers. The same
step writes the key the marts' hashes of personal identifiers are salted with (leadloop.privacy.salt),
so dbt never sees the secret salt itself.
"""
# No `from __future__ import annotations`: Dagster reads the `context` annotation at runtime.

from collections.abc import Iterator

import dagster as dg

from leadloop.extract.registry import active_sources
from leadloop.identity.load import DATASET, TABLE, load_observations
from leadloop.identity.observations import RECORD_SOURCES
from leadloop.privacy.erasure import purge_returning_persons
from leadloop.privacy.salt import MARTS_HASH_KEY_TABLE, PRIVACY_SCHEMA, write_marts_hash_key

OBSERVATIONS_KEY = dg.AssetKey([DATASET, TABLE])
MARTS_HASH_KEY = dg.AssetKey([PRIVACY_SCHEMA, MARTS_HASH_KEY_TABLE])
RAW_INPUTS = sorted({dg.AssetKey(source.table.split(".")) for source in RECORD_SOURCES},
                    key=lambda key: key.to_user_string())


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            OBSERVATIONS_KEY, group_name="identity", deps=RAW_INPUTS, kinds={"python"},
            description="Every identifier each raw record carries (phones, e-mails, WeChat ids, CRM ids, company "
            "names, USCC), normalised, with the reason when a value is unusable. Input of dbt's identity graphs."),
        dg.AssetSpec(
            MARTS_HASH_KEY, group_name="identity", kinds={"python"},
            description="The key, derived from LEADLOOP_PII_SALT, that dbt's pii_hash salts the marts' hashes of "
            "phones, e-mails, WeChat and WeCom ids and customer ids with. Not for BI roles."),
    ],
)
def identifier_observations(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
    """Read the raw records, normalise their identifiers and replace the observations table; write the
    key dbt salts the marts' hashes of personal identifiers with (privacy.marts_hash_key)."""
    loaded = load_observations(leave_out=purge_returning_persons)
    write_marts_hash_key()
    yield dg.MaterializeResult(asset_key=MARTS_HASH_KEY)
    if loaded.records_left_out:
        context.log.warning(f"privacy: {loaded.records_left_out} records of forgotten persons came back from their"
                            f" platforms; {loaded.raw_rows_purged} raw rows deleted (privacy.suppressed_identifiers)")
    # A table of a configured source that is not there yet is worth a word; one of a source the team
    # does not use is not.
    expected = [table for table in loaded.sources_missing if table.split(".")[0].removeprefix("raw_") in active_sources()]
    if expected:
        context.log.warning(f"identity: no raw table yet for {', '.join(expected)}; their records are missing")
    unusable = sum(loaded.unusable_by_reason.values())
    context.log.info(f"identity: {loaded.observations} observations of {loaded.records} records, "
                     f"{unusable} unusable values")
    yield dg.MaterializeResult(asset_key=OBSERVATIONS_KEY, metadata={
        "observations": loaded.observations,
        "records": loaded.records,
        "unusable_values": unusable,
        "unusable_by_reason": loaded.unusable_by_reason,
        "sources_missing": loaded.sources_missing,
        "forgotten_records_purged": loaded.records_left_out,
        "forgotten_raw_rows_purged": loaded.raw_rows_purged,
    })
