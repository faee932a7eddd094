"""`leadloop doctor`'s check of 企业微信: gettoken, then get_follow_user_list, the load's first two calls.

gettoken proves the corp ID and secret; get_follow_user_list proves the secret may call the
external-contact API (errcode 48001 otherwise), which a token alone does not show.
"""

from __future__ import annotations

from leadloop.extract.common.probe import PROBE_TIMEOUT_SECONDS, Probe, run_probe
from leadloop.extract.wecom import wecom_source
from leadloop.extract.wecom.client import WecomClient, WecomSettings, WecomSettingsError


def probe(timeout: float = PROBE_TIMEOUT_SECONDS) -> Probe:
    """Whether WeCom answers, and whether it takes the configured corp ID and secret for external contacts."""
    return run_probe(wecom_source, _check, refusals=(WecomSettingsError,), timeout=timeout)


def _check(config: WecomSettings) -> str:
    """Fetches an access token and the staff with external contacts; returns what that verified."""
    client = WecomClient(config)
    try:
        staff = client.follow_users()
    finally:
        client.close()
    return f"access token granted; external-contact API open ({len(staff)} staff with contacts)"
