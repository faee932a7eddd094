"""The dbt docs site asset: every model and column described, the marts' catalog, the cockpit exposure,
as one HTML file analysts open with no network, written right after the marts are published."""
# No `from __future__ import annotations`: Dagster reads the `context` annotation at runtime.

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from leadloop import settings
from leadloop.orchestration.dbt_project import leadloop_dbt_project
from leadloop.orchestration.jobs import NO_RETRY
from leadloop.orchestration.publish import PUBLISHED_MARTS_KEY

DOCS_KEY = dg.AssetKey(["published", "docs"])
# What the page must never load from elsewhere: a script, stylesheet or image from a CDN.
REMOTE_REFERENCE = re.compile(r"<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE)


def remote_references(page: str) -> list[str]:
    """The tags of a page that would fetch a file over the network (none in dbt's static page)."""
    return [match.group(0) for match in REMOTE_REFERENCE.finditer(page)]


def generate_docs(dbt: DbtCliResource, path: Path) -> Path:
    """Run `dbt docs generate --static` into a private target folder and move its one self-contained page
    to `path` in one rename.

    The night's models are already built, so dbt skips compiling them (`--no-compile`, ≈10 s of 16 on the
    demo) and reads the warehouse's catalog only. With `--no-compile` dbt writes no manifest of its own
    but inlines target/manifest.json, so the prepared manifest (and its partial-parse file, which spares
    a full parse) is copied in first."""
    project = leadloop_dbt_project()
    with tempfile.TemporaryDirectory(prefix="leadloop-docs-") as folder:
        target = Path(folder)
        for prepared in (Path(project.manifest_path), Path(project.target_path) / "partial_parse.msgpack"):
            if prepared.exists():
                shutil.copy2(prepared, target / prepared.name)
        dbt.cli(["docs", "generate", "--static", "--no-compile", "--quiet"], target_path=target).wait()
        page = (target / "static_index.html").read_text(encoding="utf-8")
        remote = remote_references(page)
        if remote:
            raise RuntimeError(f"dbt's static docs page would load files over the network ({remote[:3]}); "
                               "the docs site must open offline: check the dbt-core version in uv.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f".{path.name}.tmp")
        staged.write_text(page, encoding="utf-8")
        os.replace(staged, path)
    return path


@dg.asset(
    key=DOCS_KEY,
    group_name="published",
    deps=[PUBLISHED_MARTS_KEY],  # a night that publishes nothing leaves yesterday's docs beside yesterday's marts
    kinds={"dbt", "html"},
    retry_policy=NO_RETRY,
    description="The analysts' dbt docs site: `dbt docs generate --static` as one self-contained HTML page "
    "(LEADLOOP_DOCS_PATH, default docs/index.html beside the published marts file) describing every model, "
    "mart column and the cockpit exposure, with the warehouse's catalog; it opens from a file, no network.",
)
def docs_site_asset(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> dg.MaterializeResult:
    """Generate the docs and publish the page."""
    started = time.monotonic()
    path = generate_docs(dbt, settings.docs_path())
    seconds = round(time.monotonic() - started, 3)
    context.log.info(f"docs site {path} generated in {seconds} s")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)),
        "bytes": path.stat().st_size,
        "seconds": seconds,
    })
