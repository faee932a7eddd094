"""Settings of a source, as dlt config resolves them, and errors that say exactly which setting to fix.

Every API source declares its settings as one dlt config spec, a subclass of `SourceSettings`: dlt
fills it from `SOURCES__<NAME>__<KEY>` environment variables or `[sources.<name>]` in
`.dlt/secrets.toml` / `config.toml` and hands it to the `@dlt.source` function, which passes it to
the client (keyword arguments named like a setting, such as the orchestration's report window,
win over what dlt found). Every field has a default (credentials None), so a source can be built
with nothing configured — Dagster builds each at import time to list its resources — and `check()`
names what is missing at the first request.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Self

from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration

from leadloop.extract.common.http import RetryPolicy


class MissingSettingError(ValueError):
    """A required setting of a source is not configured."""


def setting_env_var(source: str, key: str) -> str:
    """The environment variable dlt reads for `key` of `source`, e.g. SOURCES__NEOCRM__CLIENT_ID."""
    return f"SOURCES__{source.upper()}__{key.upper()}"


def describe_settings(source: str, keys: Sequence[str], *, toml_file: str = ".dlt/secrets.toml") -> str:
    """Names settings both ways: as env vars and as keys under [sources.<source>] in a toml file."""
    env_vars = ", ".join(setting_env_var(source, key) for key in keys)
    toml_keys = ", ".join(keys)
    return f"{env_vars} (or {toml_keys} under [sources.{source}] in {toml_file})"


def require_settings(
    source: str, values: Mapping[str, object], *, toml_file: str = ".dlt/secrets.toml"
) -> None:
    """Raises MissingSettingError naming every key whose value is None or empty."""
    missing = [key for key, value in values.items() if value is None or value == ""]
    if not missing:
        return
    noun = "setting" if len(missing) == 1 else "settings"
    raise MissingSettingError(
        f"{source}: missing {noun} {describe_settings(source, missing, toml_file=toml_file)}"
    )


@configspec
class SourceSettings(BaseConfiguration):
    """What every API source is configured with: how patiently to call its platform.

    Each source's subclass adds the platform's own settings (its base URL with the platform's
    default, credentials typed as secrets, paging and date settings) and sets `__source__`, the
    name of its `[sources.<name>]` section, which error messages use to name a setting.
    """

    max_tries: int = 5
    backoff_seconds: float = 1.0
    request_timeout: float = 60.0

    __source__: ClassVar[str] = ""

    def check(self) -> None:
        """Raises naming a missing or impossible setting, before any request is sent; subclasses
        check their own settings first, then call this."""
        self.check_at_least("max_tries", self.max_tries, 1)

    def require(self, keys: Iterable[str]) -> None:
        """Raises MissingSettingError naming every one of `keys` that is unset or empty."""
        require_settings(self.__source__, {key: getattr(self, key) for key in keys})

    def check_at_least(self, key: str, value: float, low: float) -> None:
        """Refuses a value below `low`, naming the setting."""
        if value < low:
            raise ValueError(
                f"{self.__source__}: {setting_env_var(self.__source__, key)} must be at least {low},"
                f" got {value}"
            )

    def check_between(self, key: str, value: int, low: int, high: int) -> None:
        """Refuses a value outside low..high, naming the setting."""
        if not low <= value <= high:
            raise ValueError(
                f"{self.__source__}: {setting_env_var(self.__source__, key)} must be between {low}"
                f" and {high}, got {value}"
            )

    def retry_policy(self) -> RetryPolicy:
        """The backoff policy these settings describe."""
        return RetryPolicy(tries=self.max_tries, base_delay=self.backoff_seconds)

    def overridden(self, overrides: Mapping[str, Any]) -> Self:
        """A copy with `overrides` on top (keyword arguments given to the source, the probe's limits).

        An unknown name is refused as a function call refuses an unexpected keyword argument.
        """
        unknown = sorted(set(overrides) - set(self.get_resolvable_fields()))
        if unknown:
            raise TypeError(f"{self.__source__}: no such setting {', '.join(unknown)}")
        changed = copy.copy(self)
        for key, value in overrides.items():
            setattr(changed, key, value)
        return changed
