#!/usr/bin/env bash
# README command 2: install, make sure a PostgreSQL server binary exists, run every test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh" --spark  # with the `spark` group: tests/dbt/test_spark.py runs a local Spark

# Real parts the tests use: a PostgreSQL server (started by the tests from the Debian binaries), Java 17
# for a local Spark, and Chromium (the Dagster UI test drives it through Playwright, no browser download), with a
# Chinese font so the cockpit's screenshots show its Chinese labels (the tests pass without one).
missing=""
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -n "${LEADLOOP_PG_BIN:-}" ] || missing="$missing postgresql"
[ -x "${LEADLOOP_CHROMIUM:-/usr/bin/chromium}" ] || missing="$missing chromium"
[ -n "$(fc-list :lang=zh 2>/dev/null)" ] || missing="$missing fonts-wqy-microhei"
# Spark (pyspark 4) runs on Java 17: Debian's headless runtime.
{ [ -n "${JAVA_HOME:-}" ] || ls -d /usr/lib/jvm/java-17-openjdk-* >/dev/null 2>&1; } || missing="$missing openjdk-17-jre-headless"
if [ -n "$missing" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "test: installing$missing (apt-get)" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    else
        echo "test: missing system packages:$missing (apt-get install$missing; or set LEADLOOP_PG_BIN / LEADLOOP_CHROMIUM)" >&2
        exit 1
    fi
fi

# The whole suite, a folder or a marker selection (`-m "not e2e"`) runs on three workers (pytest-xdist):
# the suite is long and mostly one process's CPU (dbt, DuckDB, Dagster), so two cores nearly halve it, and a
# third worker uses what the other two leave while they wait (the Spark build, subprocess nights, alert
# intervals): on this 2-core machine 21:00 against 23:07 for the whole `.ci/run`.
# Workers are handed whole modules (--dist loadscope, tests/conftest.py says which module is split), so
# a module's fixtures start once, in the order tests/conftest.py gives them (not xdist's, by test count).
# Naming files or tests (tests/x.py, tests/x.py::test_y) runs in this one process: starting workers
# costs ~10 s for little gain. Here rather than in pyproject's addopts so that a plain
# `.venv/bin/pytest tests/x.py` stays serial too. LEADLOOP_TEST_WORKERS sets the number (0: serial);
# a -n, --dist or -p no:xdist of your own wins.
parallel() {
    [ "${LEADLOOP_TEST_WORKERS:-3}" != "0" ] || return 1
    local previous=""
    for arg in "$@"; do
        case "$arg" in
            -n|-n*|--numprocesses*|--dist*|-pno:xdist) return 1 ;;
            no:xdist) [ "$previous" = "-p" ] && return 1 ;;
            -*) ;;
            *.py|*.py::*) return 1 ;;
        esac
        previous="$arg"
    done
    return 0
}
workers=()
if parallel "$@"; then
    workers=(-n "${LEADLOOP_TEST_WORKERS:-3}" --dist loadscope --no-loadscope-reorder)
fi

# pyspark starts the JVM of JAVA_HOME, else the first `java` on PATH: make it Java 17 where other JDKs are
# installed too.
if [ -z "${JAVA_HOME:-}" ]; then
    for jvm in /usr/lib/jvm/java-17-openjdk-*; do
        [ -x "$jvm/bin/java" ] && export JAVA_HOME="$jvm" && break
    done
fi

cd "$ROOT"
exec "$ROOT/.venv/bin/pytest" "${workers[@]}" "$@"
