"""The Spark session of LEADLOOP_WAREHOUSE=spark: one per process, local or the one dbt-spark opened.

Locally (LEADLOOP_SPARK_MASTER, default local[*]) the session keeps its managed tables and its embedded
Derby metastore in LEADLOOP_SPARK_DIR, with the settings dbt's `spark` target passes (dbt_project/
profiles.yml), so dbt and leadloop's Python see the same schemas. Derby admits one JVM at a time: dbt
run in this process (dbtRunner) shares the session; a second process on the same folder must wait.
Telemetry and UI are off: no web UI, no event log, nothing reported anywhere.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from leadloop import settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_LOCK = threading.Lock()


def session_settings() -> dict[str, str]:
    """Spark settings of a local session (the same as the profile's server_side_parameters)."""
    folder = settings.spark_dir()
    local = settings.spark_master().startswith("local")
    return {
        # A local session listens on the loopback interface only.
        **({"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"} if local else {}),
        "spark.master": settings.spark_master(),
        "spark.app.name": "leadloop",
        "spark.sql.warehouse.dir": str(folder / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={folder / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={folder}",
        "spark.sql.catalogImplementation": "hive",
        # Timestamps are UTC in the warehouse (as on DuckDB and PostgreSQL).
        "spark.sql.session.timeZone": "UTC",
        # Small shuffles: a local session's data fits a few partitions (the default 200 makes every
        # join of a small table pay for 200 tasks).
        "spark.sql.shuffle.partitions": os.environ.get("LEADLOOP_SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.sql.adaptive.enabled": "true",
        # The warehouse's queries are many and their data small: compiling each to Java (whole-stage
        # code generation) costs more than it saves.
        "spark.sql.codegen.wholeStage": "false",
        # Raw tables gain columns between loads (schema drift): read every Parquet file's columns.
        "spark.sql.parquet.mergeSchema": "true",
        # Telemetry and UI off.
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.eventLog.enabled": "false",
        "spark.sql.hive.metastore.schema.verification": "false",
        "spark.hadoop.datanucleus.schema.autoCreateAll": "true",
        "spark.hadoop.hive.metastore.schema.verification": "false",
    }


def spark_session() -> SparkSession:
    """The process's Spark session: the running one (e.g. dbt-spark's, when dbt runs in this process),
    else a new one with session_settings()."""
    from pyspark.sql import SparkSession

    with _LOCK:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        settings.spark_dir().mkdir(parents=True, exist_ok=True)
        builder = SparkSession.builder.enableHiveSupport()
        for key, value in session_settings().items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        return spark


def stop_spark_session() -> None:
    """Stop the process's session, if any (the JVM stays until the process ends)."""
    from pyspark.sql import SparkSession

    with _LOCK:
        active = SparkSession.getActiveSession()
        if active is not None:
            active.stop()
