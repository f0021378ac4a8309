"""Who hears of a rate-limit wait besides `RateLimit(on_wait=...)`: the watcher of the thread or
task that waits. The adapters set one around each call to report waits to their framework's
observers (docs/ARCHITECTURE.md, "Rate limits"). Pure and light: `_quota` and `_adapters` both
import it, and the adapters load without loading the rate limits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from ._quota import RateLimitWait

__all__ = ["WaitWatcher", "current_watcher", "wait_watcher", "watching_waits"]

WaitWatcher: TypeAlias = "Callable[[RateLimitWait], object]"

current_watcher: ContextVar[WaitWatcher | None] = ContextVar("mavi_wait_watcher", default=None)
"""The watcher of this thread or task (`watching_waits`); `RateLimit` tells it of each wait."""


@contextmanager
def watching_waits(watcher: WaitWatcher | None) -> Iterator[None]:
    """Within the block, every wait of this thread or task is also reported to `watcher` (the
    innermost block's; None leaves the current one). `aacquire` awaits what it returns when that
    is awaitable, so an async framework's observer is told before the sleep; `acquire` ignores
    it."""
    if watcher is None:
        yield
        return
    token = current_watcher.set(watcher)
    try:
        yield
    finally:
        current_watcher.reset(token)


def wait_watcher() -> WaitWatcher | None:
    """The watcher `watching_waits` set for this thread or task, if any."""
    return current_watcher.get()
