"""The house style holds: ruff is clean on the whole tree (sqlfluff runs in pre-commit and
scripts/lint_sql.sh: it compiles the dbt project, a minute too long for every test run)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from leadloop import settings


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "."], cwd=settings.PROJECT_ROOT, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout[-3000:]


ARCHITECTURE = settings.PROJECT_ROOT / "docs" / "architecture.md"
CITATION = re.compile(r"architecture §(\d+)")


def _tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=settings.PROJECT_ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    return [settings.PROJECT_ROOT / n for n in names if n.endswith((".py", ".sql", ".yml", ".yaml", ".md", ".sh"))]


def test_code_cites_only_documents_in_the_repo():
    """Comments cite docs/architecture.md by section; every cited section exists, nothing cites a
    document that is not in the repository."""
    sections = set(re.findall(r"^## (\d+)\. ", ARCHITECTURE.read_text(encoding="utf-8"), re.MULTILINE))
    cited, outside = set(), []
    for path in _tracked_text_files():
        if not path.is_file() or path == Path(__file__).resolve():  # this file names what it looks for
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        cited |= set(CITATION.findall(text))
        if re.search(r"DESIGN §|shared/(DESIGN|ENVIRONMENT|CONVENTIONS|sources/README)", text):
            outside.append(str(path.relative_to(settings.PROJECT_ROOT)))
    assert cited and cited <= sections, f"cited sections missing from docs/architecture.md: {cited - sections}"
    assert outside == []
