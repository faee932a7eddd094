"""`leadloop doctor`'s check of 巨量引擎: one custom-report page of one row, for the first advertiser.

The access token travels in every request's header, so the smallest authenticated request is a
report page. Tokens are taken as a load takes them (a token file's renewed tokens first), with one
difference: a refresh token is single-use, so the probe spends it only when SOURCES__OCEANENGINE__TOKEN_FILE
is set to keep its successor; otherwise checking tonight's credentials would use them up.
"""

from __future__ import annotations

from leadloop.extract.common.config import setting_env_var
from leadloop.extract.common.probe import PROBE_TIMEOUT_SECONDS, CredentialsRefused, Probe, run_probe
from leadloop.extract.oceanengine import oceanengine_source
from leadloop.extract.oceanengine.client import (
    SOURCE_NAME,
    OceanengineAuthError,
    OceanengineClient,
    OceanengineSettings,
)


def probe(timeout: float = PROBE_TIMEOUT_SECONDS) -> Probe:
    """Whether the report API answers, and whether it takes the configured token for the first advertiser."""
    return run_probe(oceanengine_source, _check, refusals=(OceanengineAuthError,), timeout=timeout,
                     overrides={"page_size": 1})


def holds_back_refresh(config: OceanengineSettings) -> bool:
    """True when the probe must not renew a refused access token: the renewed tokens would not be kept."""
    return bool(config.access_token) and config.can_refresh() and not config.token_file


def _check(config: OceanengineSettings) -> str:
    """Reads the first row of the last report day for the first advertiser; returns what that verified."""
    held_back = holds_back_refresh(config)
    client = OceanengineClient(config.overridden({"refresh_token": None}) if held_back else config)
    advertiser, day = config.advertisers()[0], config.end_day()
    try:
        client.ensure_configured()
        next(client.report_pages(advertiser, day, day), None)
    except OceanengineAuthError:
        if not held_back:
            raise
        raise CredentialsRefused(
            f"credentials refused: check {setting_env_var(SOURCE_NAME, 'access_token')} (not renewed: the"
            f" refresh token is single-use, and without {setting_env_var(SOURCE_NAME, 'token_file')} the"
            " renewed one would be lost)"
        ) from None
    finally:
        client.close()
    return f"report for advertiser {advertiser} on {day.isoformat()} answered"
