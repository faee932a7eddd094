#!/usr/bin/env bash
# README command 1: install, then run one night of the warehouse on the demo company (DuckDB).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
exec "$ROOT/.venv/bin/leadloop" demo "$@"
