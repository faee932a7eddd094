"""README is part of the product: its keys and commands must match the code."""

from __future__ import annotations

import re

from leadloop import settings

README = (settings.PROJECT_ROOT / "README.md").read_text()


def test_readme_lists_every_key_of_every_source():
    from leadloop.extract.file_drops import file_drops_source
    from leadloop.extract.registry import SOURCES

    factories = {**{s.name: s.factory for s in SOURCES}, "file_drops": file_drops_source}
    missing = []
    for name, factory in factories.items():
        for parameter in factory.ref.SPEC.get_resolvable_fields():
            key = f"SOURCES__{name.upper()}__{parameter.upper()}"
            if parameter != "platform" and key not in README:
                missing.append(key)
    assert missing == []


def test_quickstart_has_exactly_the_two_setup_commands():
    quickstart = README.split("## Quickstart", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^bash (scripts/\S+)", quickstart, flags=re.MULTILINE)
    assert commands == ["scripts/demo.sh", "scripts/test.sh"]
    for script in commands:
        assert (settings.PROJECT_ROOT / script).exists()
    assert "scripts/test.sh" in (settings.PROJECT_ROOT / ".ci" / "run").read_text()
