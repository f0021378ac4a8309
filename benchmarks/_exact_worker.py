"""One process of the exact-budget benchmark: `python -m benchmarks._exact_worker BACKEND BASE_URL`.

Once warmed up it prints "ready" and reads "START END" (wall-clock times) from stdin, so that a
slow start under load never eats the run. From START to END, THREADS threads ask chats of
BASE_URL (the benchmark server) through one `RateLimit` on BACKEND allowing CALLS chats a
second, with its default margin.
Each request's spread is measured: the seconds from its turn being stamped (the store's clock
read) to the request being handed to the connection. Prints one JSON line: the spreads.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import httpx

from mavi_core import Budget, MaviClient, RateLimit

THREADS = 2
CALLS = 10
"""The budget: CALLS chats a second, shared by every process."""
VIDEO = "VI634021587219364352"

_turn = threading.local()


class _TurnClock(RateLimit):
    """A `RateLimit` noting when this thread's last turn was stamped: when the store's clock
    was read for it (the time the budget counts the turn at)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        store = self._store
        read = store.now_ms

        def stamped() -> int:
            now = read()
            _turn.at = time.monotonic()
            return now

        store.now_ms = stamped  # type: ignore[method-assign]


class _Leaving(httpx.HTTPTransport):
    """A transport noting, per request, the seconds since its thread's turn."""

    def __init__(self, spreads: list[float]) -> None:
        super().__init__()
        self._spreads = spreads

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._spreads.append(time.monotonic() - _turn.at)
        return super().handle_request(request)


def main(backend: str, base_url: str) -> dict[str, list[float]]:
    limit = _TurnClock(backend, budgets={"chat": Budget(CALLS, 1.0)})
    spreads: list[float] = []
    http = httpx.Client(transport=_Leaving(spreads))
    client = MaviClient("bench-key", base_url=base_url, rate_limit=limit, http_client=http)
    client.chat([VIDEO], "warm up")  # imports and a connection first
    print("ready", flush=True)
    start, end = map(float, sys.stdin.readline().split())

    def ask() -> None:
        while time.time() < end:
            client.chat([VIDEO], "What happens?")

    time.sleep(max(0.0, start - time.time()))
    threads = [threading.Thread(target=ask) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    return {"spreads": spreads[1:]}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
