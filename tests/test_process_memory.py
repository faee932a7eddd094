"""What a night's big steps free goes back to the operating system (leadloop.process_memory), so that it does not
count beside dbt's DuckDB: a freshly started process frees 400 MiB of 4 MiB blocks and its resident memory falls,
where glibc's defaults keep them; a process started with the environment an entry point sets (a run worker, dbt)
does the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

FREE_400_MIB = textwrap.dedent("""
    import json, sys
    if sys.argv[1] == "hand back":
        from leadloop.process_memory import hand_back_freed_memory
        assert hand_back_freed_memory()
    import pyarrow

    def resident_mib():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))

    del bytearray(4 << 20)[:]  # one block freed: glibc's own threshold rises past the blocks below
    blocks = [bytearray(b"x" * (4 << 20)) for _ in range(100)]
    held = resident_mib()
    del blocks[:-1]  # the newest stays, as live data above freed data does in a long process
    print(json.dumps({"held": held, "after": resident_mib(), "arrow": pyarrow.default_memory_pool().backend_name}))
""")


def _freeing(mode: str, environment: dict[str, str] | None = None) -> dict:
    defaults = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "ARROW_DEFAULT_MEMORY_POOL"))}
    result = subprocess.run([sys.executable, "-c", FREE_400_MIB, mode], env={**defaults, **(environment or {})},
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_blocks_leave_the_resident_memory():
    from leadloop.process_memory import ENVIRONMENT

    handed_back, kept = _freeing("hand back"), _freeing("glibc defaults")
    assert handed_back["held"] - handed_back["after"] > 350
    assert kept["held"] - kept["after"] < 100  # what the setting changes: without it the memory stays
    assert handed_back["arrow"] == "system" != kept["arrow"]  # Arrow's buffers follow the same rules
    started = _freeing("started with the environment", ENVIRONMENT)
    assert started["held"] - started["after"] > 350
    assert started["arrow"] == "system"
