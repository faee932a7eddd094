"""Settings helpers: error messages that say exactly which setting to fix and where."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


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
