"""Where rotated 巨量引擎 tokens are kept between runs (optional `token_file` setting).

A refresh answers with a new refresh token and (unconfirmed) invalidates the old one, so a
nightly pipeline that only has its configured token breaks after the first refresh. When
`token_file` is set, renewed tokens are written there (mode 600) and read back on the next run.
The file records a fingerprint of the configured refresh token: after a re-authorisation puts a
new refresh token in the config, the stale file is ignored. Tokens never go to the warehouse.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SavedTokens:
    """The latest access and refresh tokens the platform issued."""

    access_token: str
    refresh_token: str


def fingerprint(refresh_token: str | None) -> str:
    """A short, non-reversible tag of the configured refresh token."""
    return hashlib.sha256((refresh_token or "").encode()).hexdigest()[:16]


class TokenFile:
    """A JSON file holding the latest tokens for one configured refresh token."""

    def __init__(self, path: str, configured_refresh_token: str | None) -> None:
        self.path = Path(path).expanduser()
        self._tag = fingerprint(configured_refresh_token)

    def load(self) -> SavedTokens | None:
        """The saved tokens, unless the file is absent, unreadable or for another refresh token."""
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(saved, dict) or saved.get("configured") != self._tag:
            return None
        access, refresh = saved.get("access_token"), saved.get("refresh_token")
        if not isinstance(access, str) or not isinstance(refresh, str) or not access or not refresh:
            return None
        return SavedTokens(access, refresh)

    def save(self, access_token: str, refresh_token: str) -> None:
        """Writes the tokens atomically, readable by the owner only."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(
            {"configured": self._tag, "access_token": access_token, "refresh_token": refresh_token}
        )
        temporary = self.path.with_name(self.path.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, self.path)
