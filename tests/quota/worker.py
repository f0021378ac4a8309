"""One OS process of the shared-budget tests: `python worker.py BACKEND CHATS PER_SECOND`.

Asks `CHATS` questions of the emulator named by MAVI_BASE_URL with no retries, through a
`RateLimit` on BACKEND allowing PER_SECOND chats a second, and prints one JSON line: how many
succeeded and how many were refused (a refusal means the budget was not shared).
"""

from __future__ import annotations

import json
import sys

from mavi_core import Budget, MaviClient, MaviRateLimitError, RateLimit


def main(backend: str, chats: int, per_second: int) -> None:
    # A wide margin: on a loaded 2-core CI machine a turn taken now may reach the server late,
    # bunching with the next window's; the test is about sharing, not about the margin.
    budgets = {"chat": Budget(per_second, 1.0)}
    limit = RateLimit(backend, budgets=budgets, margin=0.3) if backend else None
    ok = refused = 0
    with MaviClient(max_retries=0, rate_limit=limit) as client:
        for _ in range(chats):
            try:
                client.chat(["VI634021587219364352"], "What happens?")
                ok += 1
            except MaviRateLimitError:
                refused += 1
    print(json.dumps({"ok": ok, "refused": refused}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
