"""Memory a night's process has freed goes back to the operating system.

A night's process reads big tables (the identity step, the quality checks, the scorers) and then waits on dbt,
whose DuckDB needs memory of its own. Without this, glibc keeps what those steps freed for later use: its
mmap threshold rises to the largest block freed (up to 32 MiB), so later blocks come from heaps that seldom
shrink, one heap per thread that allocated; Arrow's own allocator (mimalloc in the wheels) keeps freed pages
too. Both then count in the night's resident memory while dbt runs.
"""

from __future__ import annotations

import ctypes
import ctypes.util

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
# Blocks from 1 MiB up are their own mappings, unmapped when freed; heaps are trimmed past 16 MiB free.
MMAP_THRESHOLD_BYTES = 1 << 20
TRIM_THRESHOLD_BYTES = 16 << 20
ARENAS = 4
# The same for the processes a night starts (Dagster's run workers, dbt): glibc and Arrow read these at start.
ENVIRONMENT = {
    "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD_BYTES),
    "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD_BYTES),
    "MALLOC_ARENA_MAX": str(ARENAS),
    "ARROW_DEFAULT_MEMORY_POOL": "system",
}


def hand_back_freed_memory() -> bool:
    """Set this process's allocators to return freed memory; False where glibc is not the C library."""
    arrow_on_the_c_library()
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False  # not glibc (musl, macOS): their allocators return memory on their own terms
    # Fixed values also turn off glibc's dynamic threshold, which is what keeps freed tables resident.
    return all(mallopt(parameter, value) == 1 for parameter, value in (
        (_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES), (_M_ARENA_MAX, ARENAS)))


def arrow_on_the_c_library() -> None:
    """Arrow allocates from the C library too, so that the same rules return what it frees."""
    try:
        import pyarrow
    except ImportError:
        return
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
