"""`leadloop doctor`'s check of 销售易: the OAuth password grant, then a one-row xoqlScroll on `user`.

Both steps are the load's own: the token comes from SOURCES__NEOCRM__TOKEN_URL, the query goes to
SOURCES__NEOCRM__BASE_URL with the bearer token, asking for a batch of one row.
"""

from __future__ import annotations

from leadloop.extract.common.probe import PROBE_TIMEOUT_SECONDS, Probe, run_probe
from leadloop.extract.neocrm import neocrm_source, settings
from leadloop.extract.neocrm.client import NeocrmAuthError, NeocrmClient, NeocrmSettings

PROBE_OBJECT = settings.OBJECTS[0]  # users: small, and readable by every API user


def probe(timeout: float = PROBE_TIMEOUT_SECONDS) -> Probe:
    """Whether the token endpoint and the API host answer, and whether they take the credentials."""
    return run_probe(neocrm_source, _check, refusals=(NeocrmAuthError,), timeout=timeout,
                     overrides={"batch_count": 1})


def _check(config: NeocrmSettings) -> str:
    """Fetches a token and the first one-row batch of users; returns what that verified."""
    client = NeocrmClient(config)
    try:
        next(client.scroll(f"select {settings.PRIMARY_KEY} from {PROBE_OBJECT.xoql_name}"), None)
    finally:
        client.close()
    return f"token granted; a one-row query on {PROBE_OBJECT.xoql_name} answered"
