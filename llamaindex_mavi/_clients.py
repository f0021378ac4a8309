"""The `mavi_core` clients behind an engine: built on first use, shared by an engine's copies."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from mavi_core import API_KEY_ENV

if TYPE_CHECKING:
    import httpx

    from mavi_core import AsyncMaviClient, MaviClient, RateLimit

__all__ = ["MaviClients", "MaviConnection", "resolve_api_key"]


class MaviClients:
    """Holds one `MaviClient` and one `AsyncMaviClient`, built on first use.

    LlamaIndex runs coroutines on fresh loops (`asyncio_run`, sync `SubQuestionQueryEngine` with
    `use_async=True`); `AsyncMaviClient` keeps a connection pool per loop, so one client serves
    them all. Injected clients are used as given and never closed here: their owner closes them.
    """

    def __init__(
        self,
        *,
        api_key: SecretStr | None,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        client: MaviClient | None,
        async_client: AsyncMaviClient | None,
        default_headers: Mapping[str, str] | None = None,
        rate_limit: RateLimit | str | None = "auto",
    ) -> None:
        self._options: dict[str, Any] = {
            "api_key": api_key,
            "base_url": base_url,
            "timeout": timeout,
            "max_retries": max_retries,
            "default_headers": default_headers,
            "rate_limit": rate_limit,
        }
        self._client = client
        self._owns_client = client is None
        self._async_client = async_client
        self._owns_async_client = async_client is None
        self._lock = threading.Lock()

    def sync(self) -> MaviClient:
        """The sync client (created on first use)."""
        with self._lock:
            if self._client is None:
                from mavi_core import MaviClient  # loads httpx on first use, not at import

                self._client = MaviClient(**self._options)
            return self._client

    def async_(self) -> AsyncMaviClient:
        """The async client (created on first use)."""
        with self._lock:
            if self._async_client is None:
                from mavi_core import AsyncMaviClient

                self._async_client = AsyncMaviClient(**self._options)
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
        """Close the async client's pool for the running loop, if the client was created here."""
        if self._owns_async_client and self._async_client is not None:
            await self._async_client.aclose()


def resolve_api_key(api_key: str | SecretStr | None) -> SecretStr | None:
    """The explicit key, else `MAVI_API_KEY`, else None (requests then fail with the core error)."""
    if isinstance(api_key, SecretStr):
        api_key = api_key.get_secret_value()
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
    return SecretStr(key) if key else None


class MaviConnection:
    """Connection settings and clients, shared by both engines."""

    _api_key: SecretStr | None
    _base_url: str | None
    _timeout: float | httpx.Timeout | None
    _max_retries: int
    _clients: MaviClients

    def _connect(
        self,
        *,
        api_key: str | SecretStr | None,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        client: MaviClient | None,
        async_client: AsyncMaviClient | None,
        rate_limit: RateLimit | str | None = "auto",
    ) -> None:
        self._api_key = resolve_api_key(api_key)
        self._base_url = base_url
        self._timeout = timeout
        self._max_retries = max_retries
        self._clients = MaviClients(
            api_key=self._api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            client=client,
            async_client=async_client,
            rate_limit=rate_limit,
        )

    @property
    def api_key(self) -> SecretStr | None:
        """The MAVI key in use (a `SecretStr`), or None if none was given or found."""
        return self._api_key

    @property
    def base_url(self) -> str | None:
        """The base URL given (None: `MAVI_BASE_URL`, then the default)."""
        return self._base_url

    @property
    def timeout(self) -> float | httpx.Timeout | None:
        return self._timeout

    @property
    def max_retries(self) -> int:
        return self._max_retries

    def close(self) -> None:
        """Close the sync HTTP client built here (shared with copies), if any."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close the async HTTP client built for the running event loop, if any."""
        await self._clients.aclose()
