"""Local HTTP stand-ins for the platforms leadloop extracts from (used by tests and the demo).

Platform simulators are imported lazily so that `demo.simulators.base` stays cheap to import.
"""

from typing import Any

from demo.simulators.base import Request, Response, SimulatorBase, json_response

__all__ = ["NeocrmSimulator", "Request", "Response", "SimulatorBase", "json_response"]


def __getattr__(name: str) -> Any:
    """Resolves platform simulators on first use (PEP 562)."""
    if name == "NeocrmSimulator":
        from demo.simulators.neocrm import NeocrmSimulator

        return NeocrmSimulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
