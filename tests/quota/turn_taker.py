"""One OS process taking turns from a shared `RateLimit`:
`python turn_taker.py BACKEND ACCOUNT CALLS PER_SECONDS STOP_FILE`.

Takes turns at the `chat` budget (CALLS per PER_SECONDS) as fast as they come until STOP_FILE
exists; a turn the store could not give (it is down, say) is tried again 20 ms later.
Prints one JSON line: the wall-clock times of the turns taken and of the failures, and the
errors met.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from mavi_core import Budget, MaviError, RateLimit


def main(backend: str, account: str, calls: int, per: float, stop: Path) -> None:
    limit = RateLimit(backend, budgets={"chat": Budget(calls, per)}, timeout=1.0)
    turns: list[float] = []
    failures: list[float] = []
    errors: set[str] = set()
    print("ready", flush=True)
    while not stop.exists():
        try:
            limit.acquire("chat", account=account, timeout=5.0)
            turns.append(time.time())
        except MaviError as error:
            failures.append(time.time())
            errors.add(type(error).__name__ + ": " + str(error)[:200])
            time.sleep(0.02)
    print(json.dumps({"turns": turns, "failures": failures, "errors": sorted(errors)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), Path(sys.argv[5]))
