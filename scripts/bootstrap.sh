#!/usr/bin/env bash
# Installs leadloop's locked environment into .venv; cheap to run again (uv checks, then exits).
# Needs only Python 3.11 and the package registries.
# `--spark` adds the dependency group `spark` (dbt-spark, pyspark: LEADLOOP_WAREHOUSE=spark, which also needs a
# Java 17 runtime); a .venv that has it keeps it, since uv sync removes what the lock's chosen groups lack.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UV_VERSION="0.13.9"  # the uv that wrote uv.lock

find_python() {
    for candidate in "${LEADLOOP_PYTHON:-}" python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "leadloop needs Python 3.11: install it or set LEADLOOP_PYTHON to its path" >&2
    return 1
}

PYTHON="$(find_python)"
TOOLS="$ROOT/.tools"
if ! "$TOOLS/bin/uv" --version 2>/dev/null | grep -q "uv $UV_VERSION"; then
    echo "bootstrap: installing uv $UV_VERSION into .tools/" >&2
    "$PYTHON" -m venv "$TOOLS"
    # -qq: warnings about this machine's pip configuration are not leadloop's to act on; errors still show
    "$TOOLS/bin/pip" install -qq --disable-pip-version-check "uv==$UV_VERSION"
fi
# --frozen: install exactly uv.lock, never re-resolve. --compile-bytecode: write every package's .pyc now
# (~30 s once), because nothing else will where PYTHONDONTWRITEBYTECODE is set, as on our machines: then every
# process (each dbt call, each Dagster code server) compiled dagster, dbt and scikit-learn from source again,
# 2-5 s a start.
groups=()
if [ "${1:-}" = "--spark" ] || [ -n "$(ls -d "$ROOT"/.venv/lib/python3.11/site-packages/pyspark 2>/dev/null)" ]; then
    groups=(--group spark)
fi
UV_PYTHON_DOWNLOADS=never "$TOOLS/bin/uv" sync --frozen --quiet --compile-bytecode "${groups[@]}" --python "$PYTHON" \
    --project "$ROOT"
