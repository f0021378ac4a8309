"""What the adapters share, and only they: one pair of clients over one settings object, and the
helpers both map with. Not public API: the names users rely on are exported by `mavi_core`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._extras import missing_extra
from ._history import ChatPrompt, Role, conversation_to_chat
from ._request import normalize_video_nos
from ._settings import MaviSettings, check_client, check_timeout

if TYPE_CHECKING:
    import httpx

    from ._client import AsyncMaviClient, MaviClient
    from ._videos import describe_moment, moment_metadata, moment_scores, rank_score

__all__ = [
    "ChatPrompt",
    "ClientPair",
    "Role",
    "conversation_to_chat",
    "describe_moment",
    "missing_extra",
    "moment_metadata",
    "moment_scores",
    "normalize_video_nos",
    "rank_score",
    "transcript_options",
]


_FROM_VIDEOS = frozenset({"describe_moment", "moment_metadata", "moment_scores", "rank_score"})


def __getattr__(name: str) -> Any:
    # The moment helpers load with the retrievers that use them, not with every adapter.
    if name in _FROM_VIDEOS:
        from . import _videos

        return getattr(_videos, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def transcript_options(source: Any) -> dict[str, Any]:
    """The `get_transcripts` arguments of a transcript loader (LangChain) or reader (LlamaIndex),
    which name their options alike."""
    return {
        "video_nos": source.video_nos,
        "kinds": source.kinds,
        "timeout": source.transcription_timeout,
        "poll_interval": source.poll_interval,
        "progress": source.progress,
        "cache_dir": source.cache_dir,
    }


class ClientPair:
    """One `MaviClient` and one `AsyncMaviClient` over one `MaviSettings`, built on first use.

    Every component of both adapters reaches MAVI through one of these, so every option (key,
    base URL, timeout as seconds or `httpx.Timeout`, retries, default headers, bounds) reaches
    both clients through one place, and the environment is read once, when the settings are
    resolved. LlamaIndex runs coroutines on fresh loops; `AsyncMaviClient` keeps a pool per loop,
    so one client serves them all. Injected clients are used as given and never closed here.
    """

    def __init__(
        self,
        *,
        api_key: Any = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
        client: MaviClient | None = None,
        async_client: AsyncMaviClient | None = None,
        api_version: str | None = None,
        rate_limit: Any = "auto",
    ) -> None:
        # Wrong types fail here, when the component is built, not at its first request.
        check_client(client, "client", asynchronous=False)
        check_client(async_client, "async_client", asynchronous=True)
        if timeout is not None:
            check_timeout(timeout)
        options: dict[str, Any] = {"base_url": base_url, "default_headers": default_headers}
        if api_version is not None:  # else MAVI_API_VERSION, then "v1.0"
            options["api_version"] = api_version
        if timeout is not None:
            options["timeout"] = timeout
        if max_retries is not None:
            options["max_retries"] = max_retries
        self._api_key = api_key
        self._options = options
        self._rate_limit = rate_limit
        self._settings: MaviSettings | None = None
        self._client = client
        self._owns_client = client is None
        self._async_client = async_client
        self._owns_async_client = async_client is None
        self._lock = threading.Lock()

    @property
    def settings(self) -> MaviSettings:
        """The resolved settings (the environment is read here, once)."""
        if self._settings is None:
            self._settings = MaviSettings.resolve(self._api_key, **self._options)
        return self._settings

    def sync(self) -> MaviClient:
        """The sync client (created on first use)."""
        with self._lock:
            if self._client is None:
                from ._client import MaviClient  # loads httpx on first use, not at import

                self._client = MaviClient(settings=self.settings, rate_limit=self._rate_limit)
            return self._client

    def async_(self) -> AsyncMaviClient:
        """The async client (created on first use)."""
        with self._lock:
            if self._async_client is None:
                from ._client import AsyncMaviClient

                self._async_client = AsyncMaviClient(
                    settings=self.settings, rate_limit=self._rate_limit
                )
            return self._async_client

    def close(self) -> None:
        """Close the sync client if it was created here."""
        if not self._owns_client:
            return
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the async client's pools (every event loop's), if the client was created here."""
        if self._owns_async_client and self._async_client is not None:
            await self._async_client.aclose()
