"""The `mavi_core` clients behind an engine: built on first use, shared by an engine's copies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from mavi_core._adapters import ClientPair

if TYPE_CHECKING:
    import httpx

    from mavi_core import AsyncMaviClient, MaviClient, RateLimit

__all__ = ["MaviClients", "MaviConnection", "api_key_of"]


MaviClients = ClientPair
"""The `mavi_core` clients behind a component: `mavi_core._adapters.ClientPair`, which both
adapters use, so every option reaches both clients through one place."""


def api_key_of(clients: ClientPair) -> SecretStr | None:
    """The key `clients` use: the explicit one, else `MAVI_API_KEY`, else None (requests then
    fail with the core error); read once, by the settings `mavi_core` resolved, and checked
    there."""
    key = clients.settings.api_key
    return None if key is None else SecretStr(key.get_secret_value())


class MaviConnection:
    """Connection settings and clients, shared by both engines."""

    _api_key: SecretStr | None
    _base_url: str | None
    _timeout: float | httpx.Timeout | None
    _max_retries: int
    _api_version: str | None
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
        default_headers: Mapping[str, str] | None = None,
        api_version: str | None = None,
        rate_limit: RateLimit | str | None = "auto",
    ) -> None:
        self._base_url = base_url
        self._timeout = timeout
        self._max_retries = max_retries
        self._clients = MaviClients(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            client=client,
            async_client=async_client,
            api_version=api_version,
            rate_limit=rate_limit,
        )
        self._api_version = api_version
        self._api_key = api_key_of(self._clients)

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

    @property
    def api_version(self) -> str | None:
        """The dialect given (None: `MAVI_API_VERSION`, then "v1.0")."""
        return self._api_version

    def __getstate__(self) -> dict[str, Any]:
        # Pickled without the key (docs/client.md, "Secrets"); the clients pickle as their options.
        return {**self.__dict__, "_api_key": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._api_key = api_key_of(self._clients)  # MAVI_API_KEY where unpickled

    def close(self) -> None:
        """Close the sync HTTP client built here (shared with copies), if any."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close the async HTTP client built here, if any: its pools of every event loop."""
        await self._clients.aclose()
