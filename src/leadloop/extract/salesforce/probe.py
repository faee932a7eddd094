"""`leadloop doctor`'s check of Salesforce: the OAuth token grant, then a one-row COUNT() on Organization.

The grant is the load's own (password grant when a user is configured, else client credentials);
the COUNT() goes to the instance URL the grant returned, as every load query does, and costs one
API request against the org's daily limit.
"""

from __future__ import annotations

from leadloop.extract.common.probe import PROBE_TIMEOUT_SECONDS, Probe, run_probe
from leadloop.extract.salesforce import salesforce_source
from leadloop.extract.salesforce.client import (
    SalesforceAuthError,
    SalesforceClient,
    SalesforceSettings,
    build_count_soql,
)

PROBE_OBJECT = "Organization"  # every org has exactly one row, readable by any API user


def probe(timeout: float = PROBE_TIMEOUT_SECONDS) -> Probe:
    """Whether the org's login host and instance answer, and whether they take the configured credentials."""
    return run_probe(salesforce_source, _check, refusals=(SalesforceAuthError,), timeout=timeout)


def _check(config: SalesforceSettings) -> str:
    """Grants a token and counts Organization rows; returns what that verified."""
    client = SalesforceClient(config)
    try:
        client.count(build_count_soql(PROBE_OBJECT, cursor="SystemModstamp"))
    finally:
        client.close()
    return f"token granted ({config.grant_type} grant); COUNT() on {PROBE_OBJECT} answered"
