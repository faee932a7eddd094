#!/usr/bin/env bash
# README command 2: install, make sure a PostgreSQL server binary exists, run every test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"

# The Postgres tests start their own server from the Debian binaries.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -z "${LEADLOOP_PG_BIN:-}" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "test: installing PostgreSQL server binaries (apt-get)" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
        echo "test: PostgreSQL server binaries are missing: apt-get install postgresql, or set LEADLOOP_PG_BIN" >&2
        exit 1
    fi
fi

cd "$ROOT"
exec "$ROOT/.venv/bin/pytest" "$@"
