"""`MaviRateLimiter`: MAVI's per-key chat budget as a LangChain rate limiter.

LangChain chat models take `rate_limiter=` and acquire it before every request. This one draws
on a `mavi_core.RateLimit`, the same budget the clients use, so `ChatMavi`, `MaviVideoChatTool`,
the retrievers and the LlamaIndex classes of every process sharing the store wait in one queue:

    limiter = MaviRateLimiter("redis://127.0.0.1:6379/0")      # or "sqlite:///...", "memory://"
    llm = ChatMavi(video_nos=[...], rate_limiter=limiter)

`ChatMavi` sends its requests through the same budget; the turn LangChain acquired is used by
the request that follows, so each call is counted once. Retries take a turn of their own.
"""

from __future__ import annotations

import os

from langchain_core.rate_limiters import BaseRateLimiter
from pydantic import SecretStr

from mavi_core import RateLimit
from mavi_core._options import strict_options
from mavi_core._quota import shared_rate_limit
from mavi_core._secret import reveal
from mavi_core._settings import MaviSettings, chat_endpoint, check_api_version, check_key_type
from mavi_core._watch import watching_waits
from mavi_core.constants import API_KEY_ENV, API_VERSION_ENV

from ._events import run_watcher

__all__ = ["MaviRateLimiter"]


@strict_options
class MaviRateLimiter(BaseRateLimiter):
    """Waits for a turn in the key's MAVI budget at `endpoint`: by default the chat budget of
    the dialect (`chat`, 10 a minute, for v1.0; `chat_v12`, 2 a minute, for v1.2).

    Args:
        rate_limit: A `mavi_core.RateLimit`, or a backend URL (`memory://`, `sqlite:///path`,
            `redis://host:port/db`) for the process's shared limiter with MAVI's budgets.
        api_key: The key whose budget this is; defaults to `MAVI_API_KEY`. Use the key of the
            models it paces.
        api_version: The dialect of the models it paces; defaults to `MAVI_API_VERSION`, then
            "v1.0", as `ChatMavi` does. `ChatMavi` refuses a limiter of another dialect.
        endpoint: The budget to draw on, when not the dialect's chat budget.
    """

    def __init__(
        self,
        rate_limit: RateLimit | str = "memory://",
        *,
        api_key: str | SecretStr | None = None,
        api_version: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        check_key_type(api_key)  # the clients' check: its type is named, never its value
        self.rate_limit = (
            rate_limit if isinstance(rate_limit, RateLimit) else shared_rate_limit(rate_limit)
        )
        version = check_api_version(api_version, os.environ.get(API_VERSION_ENV) or None)
        self.endpoint = chat_endpoint(version) if endpoint is None else endpoint
        # The account the clients draw on: the key as they hold it (stripped).
        key = (reveal(api_key) or os.environ.get(API_KEY_ENV) or "").strip()
        self._account = MaviSettings("", api_key=SecretStr(key) if key else None).fingerprint()

    def acquire(self, *, blocking: bool = True) -> bool:
        if not blocking:
            return self._try_now()
        # A wait is an event of the run this happens in (ChatMavi's own, see _events), if any.
        with watching_waits(run_watcher(None, asynchronous=False)):
            self.rate_limit.acquire(self.endpoint, account=self._account, prepay=True)
        return True

    async def aacquire(self, *, blocking: bool = True) -> bool:
        if not blocking:
            return self._try_now()
        with watching_waits(run_watcher(None, asynchronous=True)):
            await self.rate_limit.aacquire(self.endpoint, account=self._account, prepay=True)
        return True

    def _try_now(self) -> bool:
        wait = self.rate_limit.try_acquire(self.endpoint, account=self._account, prepay=True)
        return wait == 0.0

    def __repr__(self) -> str:
        return f"MaviRateLimiter({self.rate_limit!r}, endpoint={self.endpoint!r})"
