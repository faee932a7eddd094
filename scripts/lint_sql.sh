#!/usr/bin/env bash
# sqlfluff on the dbt project (house style in .sqlfluff). The dbt templater compiles every model,
# and leadloop's staging reads the warehouse while compiling: a throw-away empty one serves.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WAREHOUSE="$(mktemp -d)"
trap 'rm -rf "$WAREHOUSE"' EXIT
cd "$ROOT"
LEADLOOP_WAREHOUSE_DIR="$WAREHOUSE" exec "$ROOT/.venv/bin/sqlfluff" lint dbt_project --processes 2 "$@"
