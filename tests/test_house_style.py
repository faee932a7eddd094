"""The house style holds: ruff is clean on the whole tree (sqlfluff runs in pre-commit and
scripts/lint_sql.sh: it compiles the dbt project, a minute too long for every test run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from leadloop import settings


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "."], cwd=settings.PROJECT_ROOT, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout[-3000:]
