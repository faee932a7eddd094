"""A BI tool's reads during a night: every `--every` seconds, open the published marts read-only,
read the whole file and close. One JSON line per read on stdout; stops on SIGTERM.

    python -m tests.support.bi_reader --every 0.5
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time


def main() -> int:
    from leadloop.publish import read_published_night

    parser = argparse.ArgumentParser()
    parser.add_argument("--every", type=float, default=0.5)
    args = parser.parse_args()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    while not stopping:
        started = time.monotonic()
        try:
            night = read_published_night()
            line = {"ok": True, "run_id": night.run_id, "marts": night.marts, "whole": night.whole}
        except Exception as error:  # noqa: BLE001 - any failed read is what the test counts
            line = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        line["seconds"] = round(time.monotonic() - started, 3)
        print(json.dumps(line), flush=True)
        time.sleep(max(0.0, args.every - (time.monotonic() - started)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
