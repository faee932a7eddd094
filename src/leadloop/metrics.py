"""The metric layer: every business figure defined once (dbt semantic models and metrics in
dbt_project/models/marts/metrics/, MetricFlow), queried by name on the published marts.

`query()` asks MetricFlow for the SQL of a metric query and runs it where readers read (the published
DuckDB file opened read-only, or PostgreSQL's published `marts`: leadloop.publish.query_published), so
an analyst's `leadloop metrics query`, the cockpit and BI get one number per question and never read
the file a night is writing. MetricFlow only compiles here: it gets no connection of its own, and
its CLI (`mf`, which asks PyPI for a newer release on every start) is not used.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadloop import settings
from leadloop.publish import MARTS_SCHEMA, query_published

if TYPE_CHECKING:
    from metricflow.engine.metricflow_engine import MetricFlowEngine

# Where `dbt parse` (run when stale by `leadloop prepare`, `night`, `demo` and `metrics`, and by the test
# session) writes the semantic manifest: the metrics and semantic models as dbt resolved them.
SEMANTIC_MANIFEST = settings.DBT_PROJECT_DIR / "target" / "semantic_manifest.json"


@dataclass(frozen=True)
class MetricResult:
    """A metric query's answer: its columns, rows and the SQL that computed them."""

    columns: list[str]
    rows: list[tuple]
    sql: str

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class MetricInfo:
    """One metric as defined: its name, label, description, type and what it can be grouped by."""

    name: str
    label: str
    description: str
    type: str
    dimensions: list[str]


def _published_relations(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with every table it reads renamed to `marts.<table>` with no database: dbt
    built them in the work file (or PostgreSQL's build schema), readers find them published."""
    relations = [model["node_relation"] for model in manifest["semantic_models"]]
    relations += [spine["node_relation"] for spine in manifest["project_configuration"]["time_spines"]]
    for relation in relations:
        relation.update(database=None, schema_name=MARTS_SCHEMA,
                        relation_name=f'"{MARTS_SCHEMA}"."{relation["alias"]}"')
    return manifest


class _CompileOnlyClient:
    """What MetricFlow needs of a SQL client to write SQL in one dialect; running it is ours."""

    def __init__(self, kind: str) -> None:
        from metricflow.protocols.sql_client import SqlEngine

        if kind == "duckdb":
            from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer as Renderer
            self.sql_engine_type = SqlEngine.DUCKDB
        else:
            from metricflow.sql.render.postgres import PostgresSQLSqlPlanRenderer as Renderer
            self.sql_engine_type = SqlEngine.POSTGRES
        self.sql_plan_renderer = Renderer()

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("leadloop runs metric SQL itself, on the published marts (leadloop.metrics.query)")

    query = execute = dry_run = _refuse

    def close(self) -> None:
        pass

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"


def semantic_manifest(path: Path = SEMANTIC_MANIFEST) -> dict[str, Any]:
    """The semantic manifest dbt wrote, as JSON (missing: run `leadloop prepare` or `dbt parse`)."""
    if not path.exists():
        raise FileNotFoundError(f"no semantic manifest at {path}: run `leadloop prepare` (or `dbt parse` in"
                                " dbt_project/) to write it from the metric definitions")
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _engine(path: Path, modified_ns: int, kind: str) -> MetricFlowEngine:
    """MetricFlow over one version of the manifest (cached per file version and warehouse kind)."""
    from metricflow.engine.metricflow_engine import MetricFlowEngine
    from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    manifest = parse_manifest_from_dbt_generated_manifest(json.dumps(_published_relations(semantic_manifest(path))))
    return MetricFlowEngine(SemanticManifestLookup(manifest), _CompileOnlyClient(kind))  # type: ignore[arg-type]


def engine() -> MetricFlowEngine:
    """MetricFlow for the current semantic manifest and warehouse."""
    return _engine(SEMANTIC_MANIFEST, SEMANTIC_MANIFEST.stat().st_mtime_ns if SEMANTIC_MANIFEST.exists() else 0,
                   settings.warehouse_kind())


def compile_sql(metrics: Sequence[str], group_by: Sequence[str] = (), where: Sequence[str] = (),
                order_by: Sequence[str] = ()) -> str:
    """The SQL of a metric query, reading the published `marts` schema.

    group_by: e.g. `metric_time__month`, `funnel__channel`, `deal__sourced_by`, `account__industry`;
    where: MetricFlow filters, e.g. `{{ Dimension('funnel__channel') }} = 'paid_search'`."""
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest, OutputColumnOrderMode

    request = MetricFlowQueryRequest.create(metric_names=list(metrics), group_by_names=list(group_by),
                                            where_constraints=list(where) or None,
                                            order_by_names=list(order_by or group_by) or None,
                                            output_column_order_mode=OutputColumnOrderMode.INPUT_ORDER)
    return engine().explain(request).sql_statement.sql


def query(metrics: Sequence[str], group_by: Sequence[str] = (), where: Sequence[str] = (),
          order_by: Sequence[str] = ()) -> MetricResult:
    """Metrics by name, grouped and filtered, computed on the published marts."""
    sql = compile_sql(metrics, group_by, where, order_by)
    ((columns, rows),) = query_published(sql)
    return MetricResult(columns, rows, sql)


def ratio_definitions() -> dict[str, tuple[str, str]]:
    """Every ratio metric's (numerator, denominator) metrics: a ratio over several cells is the sum
    of its numerator over the sum of its denominator, as MetricFlow computes it."""
    return {metric["name"]: (metric["type_params"]["numerator"]["name"], metric["type_params"]["denominator"]["name"])
            for metric in semantic_manifest()["metrics"] if metric["type"] == "ratio"}


def list_metrics() -> list[MetricInfo]:
    """Every metric defined, with the dimensions it can be grouped by."""
    found = []
    for metric in engine().list_metrics():
        dimensions = sorted({dimension.dunder_name for dimension in metric.dimensions})
        found.append(MetricInfo(metric.name, metric.label or metric.name, metric.description or "",
                                str(metric.type.value), dimensions))
    return sorted(found, key=lambda m: m.name)
