"""A source's health check for `leadloop doctor`: is the platform reachable, does it take the credentials.

Each source's probe (src/leadloop/extract/<source>/probe.py) drives that source's own client through the first
steps of a load — the token grant or refresh, then the smallest authenticated request the platform
offers — with a short timeout and at most one retry, and turns the outcome into a `Probe`. The
settings are resolved exactly as the dlt source resolves them (its own config spec and sections),
so the probe sees what tonight's load will see. A probe writes nothing to the warehouse, and its
detail line never carries a secret: it names settings and hosts, never URLs with their query strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import requests
from dlt.common.configuration import resolve_configuration

from leadloop.extract.common.config import SourceSettings, setting_env_var

PROBE_TIMEOUT_SECONDS = 5.0  # per request: a platform that needs longer to answer a token grant is not well
PROBE_TRIES = 2  # one retry at most, for a dropped connection or a throttled answer
PROBE_BACKOFF_SECONDS = 0.2
_ENV_VAR = re.compile(r"\bSOURCES__[A-Z0-9_]+\b")
_QUERY_STRING = re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\")]*")


@dataclass(frozen=True)
class Probe:
    """What one probe found: reachable, credentials accepted (None: could not tell), and what to fix."""

    reachable: bool
    credentials_accepted: bool | None
    detail: str

    @property
    def ok(self) -> bool:
        """True when the platform answered and took the credentials."""
        return self.reachable and self.credentials_accepted is True


S = TypeVar("S", bound=SourceSettings)


class CredentialsRefused(Exception):
    """A refusal a probe words itself; its message is the probe's detail line as it stands."""


def source_settings(factory: Any) -> SourceSettings:
    """The settings a dlt source factory would get: its config spec, resolved in its sections."""
    reference = factory.ref
    return resolve_configuration(reference.SPEC(), sections=("sources", reference.section, reference.name))


def run_probe(
    factory: Any,
    check: Callable[[S], str],
    *,
    refusals: tuple[type[Exception], ...],
    timeout: float = PROBE_TIMEOUT_SECONDS,
    overrides: Mapping[str, Any] | None = None,
) -> Probe:
    """Resolves the source's settings (with `overrides`, e.g. one row per page), then runs `check`
    (which returns what it verified) as a Probe.

    `refusals` are the client's errors that mean "the platform refused these credentials"; any other
    failure is sorted into unreachable (no connection, no answer in time) or answered with an error.
    """
    try:
        limits = {"max_tries": PROBE_TRIES, "backoff_seconds": PROBE_BACKOFF_SECONDS, "request_timeout": timeout}
        config = cast(S, source_settings(factory).overridden({**(overrides or {}), **limits}))
        config.check()
    except Exception as exc:  # noqa: BLE001 - a setting that cannot work: nothing was sent, say which
        return Probe(False, None, f"not contacted, a setting is wrong: {scrub(str(exc))}")
    try:
        return Probe(True, True, check(config))
    except CredentialsRefused as exc:
        return Probe(True, False, str(exc))
    except refusals as exc:
        return Probe(True, False, refused_detail(exc))
    except Exception as exc:  # noqa: BLE001 - a doctor reports every failure, it never stops at one
        return failure(exc, endpoints(factory.ref.name, config), timeout)


def endpoints(source: str, config: SourceSettings) -> dict[str, str]:
    """The URL settings of a source (base_url, token_url, login_url, …) by environment variable."""
    return {
        setting_env_var(source, name): str(getattr(config, name))
        for name in config.get_resolvable_fields()
        if name.endswith("_url") and getattr(config, name)
    }


def refused_detail(error: Exception) -> str:
    """`credentials refused: check SOURCES__X__A / B`, the settings read off the client's error."""
    named = settings_named(str(error))
    if not named:
        return f"credentials refused: {scrub(str(error))}"
    return f"credentials refused: check {named}"


def settings_named(message: str) -> str:
    """The environment variables a message names, in order, later ones shortened to their key."""
    found = list(dict.fromkeys(_ENV_VAR.findall(message)))
    if not found:
        return ""
    prefix = found[0].rsplit("__", 1)[0] + "__"
    rest = [name.removeprefix(prefix) for name in found[1:]]
    return " / ".join([found[0], *rest])


def failure(error: Exception, urls: Mapping[str, str], timeout: float) -> Probe:
    """A failure that is not a refusal: unreachable when no connection or answer came, else an error answer.

    `urls` maps the source's URL settings (environment variable names) to their values, so that the
    detail names the one pointing at the host that could not be reached.
    """
    transport = _transport_error(error)
    if isinstance(transport, (requests.ConnectionError, requests.Timeout)):
        return Probe(False, None, _unreachable_detail(transport, urls, timeout))
    if transport is not None:  # the request could not even be built (a malformed URL setting)
        keys = settings_named(" ".join(urls))
        return Probe(False, None, f"request not sent ({type(transport).__name__}); check {keys}")
    return Probe(True, None, f"answered with an error: {scrub(str(error))}")


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and every error it was raised from or while handling (clients re-raise their own)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _transport_error(error: Exception) -> requests.RequestException | None:
    """The requests-level failure behind an error, if any (a connection that failed, a bad URL)."""
    for link in _chain(error):
        if isinstance(link, requests.RequestException) and not isinstance(link, requests.HTTPError):
            return link
    return None


def host_of(url: str) -> str:
    """scheme://host[:port] of a URL: no user info, path or query string (which may carry secrets)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number
        return url.split("?", 1)[0]
    return f"{parts.scheme}://{parts.hostname}{port}" if parts.hostname else url.split("?", 1)[0]


def _unreachable_detail(error: requests.RequestException, urls: Mapping[str, str], timeout: float) -> str:
    """`cannot reach <host> (<why>); check <the setting that points there>`."""
    request = getattr(error, "request", None)
    url = str(getattr(request, "url", "") or "")
    host = host_of(url) if url else "the platform"
    if isinstance(error, requests.Timeout):
        why = f"no answer within {timeout:g} s"
    elif "refused" in str(error).lower():
        why = "connection refused"
    elif "resolve" in str(error).lower() or "name or service" in str(error).lower():
        why = "host name not found"
    else:
        why = "connection failed"
    keys = [key for key, value in urls.items() if url and host_of(value) == host]
    fix = f"; check {settings_named(' '.join(keys))}" if keys else ""
    return f"cannot reach {host} ({why}){fix}"


def scrub(text: str) -> str:
    """One line of an error message without query strings (WeCom and Sensors carry secrets there)."""
    return _QUERY_STRING.sub(r"\1", " ".join(text.split()))
