"""One process of the quota benchmark: `python -m benchmarks._quota_worker BACKEND START END LIMIT`.

From wall-clock time START to END it asks chats of the emulator named by MAVI_BASE_URL, two at
a time, through a `RateLimit` on BACKEND allowing LIMIT chats per WINDOW seconds ("" for no limiter:
then a refused call waits the `Retry-After` it got, as a polite client without one would).
Prints one JSON line: chats answered before END, and chats the emulator refused (0429).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from mavi_core import AsyncMaviClient, Budget, MaviRateLimitError, RateLimit

TASKS = 2
WINDOW = 2.0
"""The emulator's `rate_window`: MAVI's per-minute limits counted per two seconds."""
MARGIN = 0.15
"""Seconds added to the window: requests admitted at its edge reach the server within it."""
VIDEO = "VI634021587219364352"


async def _main(backend: str, start: float, end: float, limit: int) -> dict[str, int]:
    budget = {"chat": Budget(limit, WINDOW)}
    rate_limit = RateLimit(backend, budgets=budget, margin=MARGIN) if backend else None
    client = AsyncMaviClient(max_retries=0, rate_limit=rate_limit, deadline=None)
    counts = {"ok": 0, "refused": 0}

    async def ask() -> None:
        while time.time() < end:
            try:
                await client.chat([VIDEO], "What happens?")
            except MaviRateLimitError as error:
                counts["refused"] += 1
                if rate_limit is None:
                    await asyncio.sleep(error.retry_after or 1.0)
                continue
            if time.time() <= end:
                counts["ok"] += 1

    # Warm up (imports, the connection pool) first: a turn taken by a cold process can reach
    # the server a few hundred ms later, past the margin.
    async for _ in client.list_videos(page_size=1):
        break
    await asyncio.sleep(max(0.0, start - time.time()))
    await asyncio.gather(*(ask() for _ in range(TASKS)))
    await client.aclose()
    return counts


if __name__ == "__main__":
    backend, start, end, limit = sys.argv[1], *map(float, sys.argv[2:4]), int(sys.argv[4])
    print(json.dumps(asyncio.run(_main(backend, start, end, limit))))
