#!/usr/bin/env bash
# README command 2: install, make sure a PostgreSQL server binary exists, run every test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"

# Real parts the tests use: a PostgreSQL server (started by the tests from the Debian binaries)
# and Chromium (the Dagster UI test drives it through Playwright, no browser download), with a
# Chinese font so the cockpit's screenshots show its Chinese labels (the tests pass without one).
missing=""
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -n "${LEADLOOP_PG_BIN:-}" ] || missing="$missing postgresql"
[ -x "${LEADLOOP_CHROMIUM:-/usr/bin/chromium}" ] || missing="$missing chromium"
[ -n "$(fc-list :lang=zh 2>/dev/null)" ] || missing="$missing fonts-wqy-microhei"
if [ -n "$missing" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "test: installing$missing (apt-get)" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    else
        echo "test: missing system packages:$missing (apt-get install$missing; or set LEADLOOP_PG_BIN / LEADLOOP_CHROMIUM)" >&2
        exit 1
    fi
fi

cd "$ROOT"
exec "$ROOT/.venv/bin/pytest" "$@"
