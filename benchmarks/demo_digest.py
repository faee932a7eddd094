"""A fingerprint of the demo company: its truth files and every record each simulator serves.

    .venv/bin/python benchmarks/demo_digest.py                    # scale 1, default seed and today
    .venv/bin/python benchmarks/demo_digest.py --scale 3 --detail

Prints one SHA-256 per part (the truth files, each simulator's records, the truth modules' lists) and one
over all of them. Run it before and after a change to the demo generator: at scale 1 the digest must not
move, because every test checks the marts against this world's truth. Records are serialised as
canonical JSON (keys sorted, non-JSON values by their repr), so the digest does not depend on dict order
within a record, only on the records, their values and their order.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from leadloop.demo import (
    baidu_sem_records,
    identity_truth,
    neocrm_records,
    oceanengine_records,
    salesforce_records,
    sensors_records,
    touch_truth,
    truth,
    wecom_records,
)
from leadloop.demo.digital import simulate_digital
from leadloop.demo.model import DEFAULT_SEED, World
from leadloop.demo.world import simulate


def _default(value: Any) -> Any:
    """JSON for what json cannot write itself: dataclasses as dicts, anything else by repr."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return repr(value)


def _digest_records(records: Iterable[Any]) -> tuple[str, int]:
    """SHA-256 of records as canonical JSON lines, and how many there were."""
    sha, count = hashlib.sha256(), 0
    for record in records:
        sha.update(json.dumps(record, sort_keys=True, ensure_ascii=False, default=_default).encode())
        sha.update(b"\n")
        count += 1
    return sha.hexdigest(), count


def _truth_files(world: World) -> Iterable[Any]:
    """The rows and manifest `write_truth` writes (the Parquet file's rows, not its bytes: those carry
    the writer's version)."""
    with tempfile.TemporaryDirectory() as folder:
        directory = truth.write_truth(world, Path(folder))
        yield from pq.read_table(directory / "journeys.parquet").to_pylist()
        yield json.loads((directory / "manifest.json").read_text())


def parts(world: World) -> dict[str, Callable[[], Iterable[Any]]]:
    """Every part of the fingerprint, by name: how to list its records."""
    digital = simulate_digital(world)
    now = world.as_of_ms

    def objects(rendered: dict[str, list[Any]]) -> Iterable[Any]:
        for name in sorted(rendered):
            yield name
            yield from rendered[name]

    def wecom() -> Iterable[Any]:
        records = wecom_records.render(world, digital)
        yield records.follow_users
        yield from records.contacts
        yield from records.tag_groups
        yield from records.contact_ways
        yield records.contact_way_created

    def oceanengine() -> Iterable[Any]:
        for advertiser, rows in oceanengine_records.render(world, digital).items():
            yield advertiser
            yield from rows

    return {
        "truth_files": lambda: _truth_files(world),
        "neocrm": lambda: objects(neocrm_records.render(world)),
        "salesforce": lambda: objects(salesforce_records.render(world, digital)),
        "baidu_sem": lambda: baidu_sem_records.render(world, digital),
        "oceanengine": oceanengine,
        "sensors": lambda: sensors_records.render(world, digital),
        "wecom": wecom,
        "opportunity_truth": lambda: truth.opportunity_truth(world),
        "touch_truth": lambda: touch_truth.touches_truth(world, digital, now),
        "record_truth": lambda: identity_truth.record_truth(world, digital, now),
        "account_record_truth": lambda: identity_truth.account_record_truth(world, now),
    }


def digest(world: World) -> dict[str, tuple[str, int]]:
    """part name → (SHA-256, record count)."""
    return {name: _digest_records(records()) for name, records in parts(world).items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--detail", action="store_true", help="print each part's digest and count")
    args = parser.parse_args(argv)
    results = digest(simulate(seed=args.seed, scale=args.scale))
    overall = hashlib.sha256("".join(sha for sha, _ in results.values()).encode()).hexdigest()
    if args.detail:
        for name, (sha, count) in results.items():
            print(f"{name:<22} {count:>9} {sha}")
    print(f"demo digest seed={args.seed} scale={args.scale:g}: {overall}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
