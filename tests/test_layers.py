"""The code's layers point one way, and importing the Dagster definitions changes nothing around it.

Layers, bottom to top (docs/architecture.md):
  core           leadloop.settings, leadloop.warehouse, leadloop.identity — paths, the warehouse, identifiers
  extract        leadloop.extract.* — one dlt source per platform, and what they share
  demo           leadloop.demo.* — the demo company and its simulators (read the sources' wire tables)
  orchestration  leadloop.orchestration.* — Dagster assets, checks, jobs over extract and core (never the demo)
  app            leadloop.cli, .doctor, .processes, benchmarks — what a person runs
A module may import its own layer and the layers its layer stands on, nothing above.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from leadloop import settings

ROOT = settings.PROJECT_ROOT
# Where first-party code lives: the one package, and the benchmarks beside it.
CODE_ROOTS = {"leadloop": ROOT / "src", "benchmarks": ROOT}
# leadloop.<layer> for these; the rest of the package is core.
MIDDLE_LAYERS = ("extract", "demo", "orchestration")
APP = ("leadloop.cli", "leadloop.doctor", "leadloop.processes", "benchmarks")
STANDS_ON = {
    "core": set(),
    "extract": {"core"},
    "demo": {"extract", "core"},
    "orchestration": {"extract", "core"},
    "app": {"orchestration", "demo", "extract", "core"},
}


def layer_of(module: str) -> str:
    """The layer a first-party module belongs to."""
    if any(module == app or module.startswith(app + ".") for app in APP):
        return "app"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in MIDDLE_LAYERS else "core"


def first_party_imports(path: Path) -> set[str]:
    """Modules of this project a file imports (at any depth of the file, typing-only ones included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
        found.update(n for n in names if n.split(".")[0] in CODE_ROOTS)
    return found


def module_name(path: Path) -> str:
    base = ROOT / "src" if path.is_relative_to(ROOT / "src") else ROOT
    parts = path.relative_to(base).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_imports_a_layer_above_its_own():
    wrong = []
    for package, base in CODE_ROOTS.items():
        for path in sorted((base / package).rglob("*.py")):
            module = module_name(path)
            allowed = STANDS_ON[layer_of(module)] | {layer_of(module)}
            wrong += [f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})"
                      for target in sorted(first_party_imports(path)) if layer_of(target) not in allowed]
    assert wrong == []


def test_the_layer_map_is_not_empty():
    """Every layer has modules, so a rename cannot make the test above pass by matching nothing."""
    modules = [module_name(p) for package, base in CODE_ROOTS.items() for p in (base / package).rglob("*.py")]
    assert {layer_of(m) for m in modules} == set(STANDS_ON)


PROBE = """
import json, os, subprocess, sys
# The libraries first: what they do when imported (croniter asks `file` for the architecture) is theirs.
import dagster, dagster_dbt, dagster_dlt, dlt, duckdb, yaml  # noqa: F401
started = []
real_popen_init = subprocess.Popen.__init__
def recording_init(self, *args, **kwargs):
    started.append(repr(args[0] if args else kwargs.get("args")))
    return real_popen_init(self, *args, **kwargs)
subprocess.Popen.__init__ = recording_init
for name in ("system", "fork", "posix_spawn", "posix_spawnp"):
    if hasattr(os, name):
        real = getattr(os, name)
        setattr(os, name, lambda *a, _real=real, _name=name, **k: (started.append(_name), _real(*a, **k))[1])
before = dict(os.environ)
import leadloop.orchestration.definitions  # noqa: F401
after = dict(os.environ)
changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
print(json.dumps({"changed": changed, "started": started}))
"""


def test_importing_the_definitions_sets_no_environment_variable_and_starts_no_process(tmp_path):
    """As a code server imports them: a fresh interpreter, nothing prepared by leadloop but the manifest
    (the test session prepared it, as a deployment's build does)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path),
           "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"changed": [], "started": []}
