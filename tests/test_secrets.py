"""Issue 15: no configured credential appears anywhere a whole demo night leaves words behind — its
Python log lines, the Dagster run's event log, the files beside the warehouse (dlt state, traces,
load packages, dbt logs and artifacts) or the warehouse's own tables."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from dagster._serdes import serialize_value
from dlt.common.configuration.specs.base_configuration import is_secret_hint

from leadloop import settings
from leadloop.extract.common.config import SourceSettings
from leadloop.extract.registry import SOURCES  # imports every source, so every settings class exists

pytestmark = pytest.mark.e2e


def _settings_classes(base: type = SourceSettings):
    assert SOURCES
    for subclass in base.__subclasses__():
        yield subclass
        yield from _settings_classes(subclass)


def secret_settings() -> set[str]:
    """SOURCES__<NAME>__<KEY> of every setting a source types as a secret."""
    return {f"SOURCES__{cls.__source__.upper()}__{name.upper()}" for cls in _settings_classes()
            for name, hint in cls.get_resolvable_fields().items() if is_secret_hint(hint)}


@pytest.fixture(scope="module")
def demo_secrets(demo_world) -> set[str]:
    """The values the demo night was configured with for every secret setting (and the alert key)."""
    from urllib.parse import parse_qs, urlsplit

    from leadloop.demo.serve import running_demo_sources

    with running_demo_sources(demo_world) as demo:
        environment = demo.source_environment()
    secrets = {value for key, value in environment.items() if key in secret_settings() and value}
    secrets |= set(parse_qs(urlsplit(environment["LEADLOOP_ALERT_WEBHOOK_URL"]).query)["key"])
    assert len(secrets) >= 12, secrets  # every source's credentials are in the search
    return secrets


@pytest.fixture(scope="module")
def salt_secrets(demo_night) -> set[str]:
    """The night's PII salt and the marts' hash key derived from it: the key lives in privacy.marts_hash_key
    (dbt reads it there), neither may reach a log, a file or, for the salt, a table."""
    from leadloop.privacy.salt import SALT_FILE, marts_hash_key, salt

    assert (settings.warehouse_dir() / SALT_FILE).exists()  # the demo night made one: it is what we search
    return {salt(), marts_hash_key()}


def _found(text: str, secrets: set[str]) -> set[str]:
    return {secret for secret in secrets if secret in text}


def test_every_credential_a_source_takes_is_typed_as_a_secret():
    """The search below is only as good as this list: a password or token typed as plain text would
    be printed by dlt's config resolution and missed here."""
    named_like_a_secret = set()
    for cls in _settings_classes():
        for name in cls.get_resolvable_fields():
            # (a token's URL or the file a refreshed token is kept in name where it is, not what it is)
            if any(word in name for word in ("secret", "password", "token")) and not name.endswith(("_url", "_file")):
                named_like_a_secret.add(f"SOURCES__{cls.__source__.upper()}__{name.upper()}")
    assert named_like_a_secret and named_like_a_secret <= secret_settings()


def test_no_credential_in_the_nights_logs_or_event_log(demo_night_run, night_instance, demo_night_logs,
                                                       demo_secrets, salt_secrets):
    demo_secrets = demo_secrets | salt_secrets
    assert demo_night_logs.lines  # the night's own Python log lines were kept (Dagster's are events)
    assert _found("\n".join(demo_night_logs.lines), demo_secrets) == set()
    events = night_instance.all_logs(demo_night_run.run_id)
    assert len(events) > 1000
    assert _found("\n".join(serialize_value(event) for event in events), demo_secrets) == set()
    assert _found(serialize_value(night_instance.get_run_by_id(demo_night_run.run_id)), demo_secrets) == set()


def test_no_credential_in_the_files_the_night_wrote(demo_night, demo_secrets, salt_secrets, session_dir):
    from leadloop.privacy.salt import SALT_FILE

    demo_secrets = demo_secrets | salt_secrets
    roots = [settings.warehouse_dir(), settings.DBT_PROJECT_DIR / "target", settings.DBT_PROJECT_DIR / "logs",
             Path(os.environ["DAGSTER_HOME"])]
    files = [path for root in roots if root.exists() for path in root.rglob("*")
             if path.is_file() and not path.name.endswith(".duckdb") and ".duckdb." not in path.name
             and path.name != SALT_FILE]  # the salt's own file (mode 0600), where it is kept
    assert any("dlt_pipelines" in str(path) for path in files)
    leaking = {str(path): _found(path.read_bytes().decode("utf-8", "replace"), demo_secrets)
               for path in files}
    assert {path: found for path, found in leaking.items() if found} == {}


def test_no_credential_in_any_warehouse_table(demo_night, demo_secrets, salt_secrets):
    from leadloop.privacy.salt import salt

    demo_secrets = demo_secrets | {salt()}  # the derived key is in privacy.marts_hash_key by design, the salt never
    with duckdb.connect(str(demo_night), read_only=True) as con:
        tables = con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        leaking = {}
        for schema, table in tables:
            columns = [c for (c,) in con.execute(
                "select column_name from duckdb_columns() where schema_name = ? and table_name = ?",
                [schema, table]).fetchall()]
            row_text = "concat_ws('|', " + ", ".join(f'"{c}"::varchar' for c in columns) + ")"
            conditions = " or ".join(f"contains({row_text}, ?)" for _ in demo_secrets)
            hits = con.execute(f'select count(*) from "{schema}"."{table}" where {conditions}',
                               list(demo_secrets)).fetchone()[0]
            if hits:
                leaking[f"{schema}.{table}"] = hits
    assert len(tables) > 100 and leaking == {}


def test_a_robot_that_answers_an_http_error_is_reported_without_its_key():
    """The robot's key is part of its URL: an HTTP error names the status and the setting, never the URL."""
    import http.server
    import threading

    from leadloop.orchestration.alerts import WEBHOOK_ENV, WecomRobotWebhook

    class Refusing(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(500)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    key = "robot-key-0f3c9e1d"
    try:
        with pytest.raises(RuntimeError) as refused:
            WecomRobotWebhook(url=f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key={key}",
                              timeout_seconds=5).post_markdown("hello")
    finally:
        server.shutdown()
    assert "HTTP 500" in str(refused.value) and WEBHOOK_ENV in str(refused.value)
    assert key not in str(refused.value)
