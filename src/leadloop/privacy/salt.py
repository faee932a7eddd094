"""The warehouse's secret salt, and the key the marts hash personal identifiers with.

One salt (`LEADLOOP_PII_SALT`, else a random one made once beside the warehouse) serves two hashes:
the suppression list's SHA-256 (`erasure.identifier_hash`) and the marts' md5 of phones, e-mails, WeChat
and WeCom ids and of the anchors behind `customer_id` (dbt macro `pii_hash`). Without a salt an md5 of
'phone:+86139…' is a phone number anyone can look up by hashing every number.

dbt cannot read a secret without printing it into compiled SQL and logs, so the night writes a key
derived from the salt into `privacy.marts_hash_key` before dbt runs, and the models read it from there
(a scalar subquery). The derived key, not the salt itself, so the table does not reveal the suppression
hashes' salt. Changing the salt re-keys every hash and every customer_id and account_id.
"""

from __future__ import annotations

import hashlib
import os
import secrets

from leadloop import settings
from leadloop.warehouse import Column, replace_table

SALT_ENV = "LEADLOOP_PII_SALT"
SALT_FILE = "privacy_salt"
PRIVACY_SCHEMA = "privacy"
MARTS_HASH_KEY_TABLE = "marts_hash_key"


class MissingSaltError(RuntimeError):
    """Hashes must be matched but this warehouse has no salt: the message names the setting."""


def salt(create: bool = True) -> str:
    """LEADLOOP_PII_SALT, else the one kept beside the warehouse (privacy_salt, readable by its owner only),
    made on first use when `create` (the night, `forget`). A reader (`create=False`: the live hot-lead
    lookup) never invents one, since its hashes would match nothing. Losing the salt means suppressed
    persons load again and every hashed id in the marts changes."""
    configured = os.environ.get(SALT_ENV, "")
    if configured:
        return configured
    path = settings.warehouse_dir() / SALT_FILE
    if not path.exists():
        if not create:
            raise MissingSaltError(
                f"no PII salt: set {SALT_ENV} to the salt the night hashed the marts with, or run this beside the"
                f" warehouse folder that holds its {SALT_FILE} file ({path.parent})")
        path.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def marts_hash_key(pepper: str | None = None, create: bool = True) -> str:
    """The key the marts' hashes are salted with, derived from the salt (one-way)."""
    return hashlib.sha256(f"leadloop marts hash key\x00{pepper or salt(create)}".encode()).hexdigest()


def marts_hash(identifier: str, key: str) -> str:
    """An identifier's hash as the marts write it: md5 of the key followed by the identifier (dbt's
    `pii_hash`: dbt.hash(dbt.concat([key, identifier])))."""
    return hashlib.md5(f"{key}{identifier}".encode()).hexdigest()


def write_marts_hash_key() -> None:
    """(Re)writes privacy.marts_hash_key, one row, for the night's dbt models to read."""
    replace_table(
        PRIVACY_SCHEMA, MARTS_HASH_KEY_TABLE,
        "The key the marts salt their hashes of personal identifiers with (derived from LEADLOOP_PII_SALT);"
        " written by the night before dbt. Not for BI roles.",
        [Column("hash_key", "text", "sha256 of the salt: the prefix of every md5 of a personal identifier")],
        [(marts_hash_key(),)],
    )
