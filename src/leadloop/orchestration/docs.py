"""The dbt docs site asset: every model and column described, the marts' catalog, the cockpit exposure,
as one HTML file analysts open with no network, written right after the marts are published."""
# No `from __future__ import annotations`: Dagster reads the `context` annotation at runtime.

import hashlib
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from dbt.version import __version__ as installed_dbt_version

from leadloop import settings
from leadloop.orchestration.dbt_project import keep_parse, leadloop_dbt_project
from leadloop.orchestration.jobs import NO_RETRY
from leadloop.orchestration.publish import PUBLISHED_MARTS_KEY
from leadloop.warehouse import catalog_digest

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
    but inlines target/manifest.json, so the prepared manifest is copied in first (and a partial-parse file,
    which spares a full parse: the last one made with this profile, else the prepared one)."""
    project = leadloop_dbt_project()
    with tempfile.TemporaryDirectory(prefix="leadloop-docs-") as folder:
        target = Path(folder)
        shutil.copy2(project.manifest_path, target / Path(project.manifest_path).name)
        dbt.cli(["docs", "generate", "--static", "--no-compile", "--quiet"], target_path=target).wait()
        keep_parse(target)
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


def docs_inputs_digest() -> str | None:
    """What the page is made of: dbt's version, the prepared manifest and the warehouse's catalog (columns,
    types, comments; dbt's DuckDB and PostgreSQL catalogs hold no row counts). None where the catalog is not
    digested (Spark): the page is then always generated."""
    catalog = catalog_digest()
    if catalog is None:
        return None
    digest = hashlib.sha256(installed_dbt_version.encode())
    digest.update(Path(leadloop_dbt_project().manifest_path).read_bytes())
    digest.update(catalog.encode())
    return digest.hexdigest()


def _inputs_file(path: Path) -> Path:
    return path.with_name(f".{path.name}.inputs")


def refresh_docs(dbt: DbtCliResource, path: Path) -> bool:
    """Generate the page at `path` unless the one there was made of the same inputs (most nights change rows,
    not the project or the warehouse's columns, and generating takes ~12 s on the demo). True when generated.
    The digest is written after the page, so a night killed between the two generates again."""
    inputs = docs_inputs_digest()
    stamp = _inputs_file(path)
    if inputs is not None and path.exists() and stamp.exists() and stamp.read_text() == inputs:
        return False
    stamp.unlink(missing_ok=True)
    generate_docs(dbt, path)
    if inputs is not None:
        stamp.write_text(inputs)
    return True


@dg.asset(
    key=DOCS_KEY,
    group_name="published",
    deps=[PUBLISHED_MARTS_KEY],  # a night that publishes nothing leaves yesterday's docs beside yesterday's marts
    kinds={"dbt", "html"},
    retry_policy=NO_RETRY,
    description="The analysts' dbt docs site: `dbt docs generate --static` as one self-contained HTML page "
    "(LEADLOOP_DOCS_PATH, default docs/index.html beside the published marts file) describing every model, "
    "mart column and the cockpit exposure, with the warehouse's catalog; it opens from a file, no network. "
    "Generated again only when the dbt project or the warehouse's columns changed since the page was made.",
)
def docs_site_asset(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> dg.MaterializeResult:
    """Generate the docs (when their inputs changed) and publish the page."""
    started = time.monotonic()
    path = settings.docs_path()
    generated = refresh_docs(dbt, path)
    seconds = round(time.monotonic() - started, 3)
    context.log.info(f"docs site {path} {'generated' if generated else 'unchanged: same project and catalog'}"
                     f" in {seconds} s")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)),
        "bytes": path.stat().st_size,
        "seconds": seconds,
        "generated": generated,
    })
