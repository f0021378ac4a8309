"""LlamaIndex instrumentation events of MAVI's own.

`MaviRateLimitWaitEvent`: a request waited for its turn in the key's budget
(`mavi_core.RateLimit`). `MaviLLM` (and so both engines) and `MaviVideoRetriever` dispatch it
through the instrumentation dispatcher before the wait, inside the span of the call that waits,
so every event handler sees it:

```python
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler

class Waits(BaseEventHandler):
    def handle(self, event, **kwargs):
        if isinstance(event, MaviRateLimitWaitEvent):
            print(f"waiting {event.seconds:.1f} s for a {event.endpoint} turn")

get_dispatcher().add_event_handler(Waits())
```

Nothing is dispatched when no wait happened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_index.core.instrumentation.events import BaseEvent
from llama_index_instrumentation import get_dispatcher

if TYPE_CHECKING:
    from mavi_core import RateLimitWait

__all__ = ["MaviRateLimitWaitEvent", "report_wait"]

dispatcher = get_dispatcher(__name__)


class MaviRateLimitWaitEvent(BaseEvent):
    """A MAVI request waits `seconds` for its turn at `endpoint` (`chat`, `moments`, `search`,
    `transcription`...); `reason` is "budget" (the key's budget is spent) or "paused" (the
    service asked to wait, with a 0429's `Retry-After`)."""

    seconds: float
    endpoint: str
    reason: str

    @classmethod
    def class_name(cls) -> str:
        return "MaviRateLimitWaitEvent"


def report_wait(wait: RateLimitWait) -> None:
    """Dispatch `wait` as a `MaviRateLimitWaitEvent` (a `mavi_core` wait watcher)."""
    dispatcher.event(
        MaviRateLimitWaitEvent(seconds=wait.seconds, endpoint=wait.endpoint, reason=wait.reason)
    )
