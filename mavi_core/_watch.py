"""Who hears of this thread's or task's rate-limit waits, for the adapters; not in `_quota`, so
they load without it (docs/rate-limits-and-bulk.md#waits-your-frameworks-observers-see)."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from ._budgets import RateLimitWait

WaitWatcher: TypeAlias = "Callable[[RateLimitWait], object]"

current_watcher: ContextVar[WaitWatcher | None] = ContextVar("mavi_wait_watcher", default=None)
"""The watcher of this thread or task (`watching_waits`); `RateLimit` tells it of each wait."""


class watching_waits:
    """Within the block, this thread's or task's waits are also reported to `watcher` (None: the
    current one), awaited by `aacquire` before it sleeps. A class: every stream enters one."""

    __slots__ = ("_token", "_watcher")

    def __init__(self, watcher: WaitWatcher | None) -> None:
        self._watcher = watcher
        self._token: Token[WaitWatcher | None] | None = None

    def __enter__(self) -> None:
        if self._watcher is not None:
            self._token = current_watcher.set(self._watcher)

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            current_watcher.reset(self._token)
            self._token = None
