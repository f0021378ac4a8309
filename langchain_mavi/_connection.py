"""The connection settings every MAVI LangChain component shares, and its `mavi_core` clients."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, cast

from langchain_core.utils import from_env, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator

from mavi_core import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    normalize_video_nos,
)

if TYPE_CHECKING:
    from mavi_core import AsyncMaviClient, MaviClient

__all__ = ["MaviConnection", "check_video_nos"]


def check_video_nos(value: Any) -> Any:
    """A component's default `video_nos`, checked and explained as every MAVI entry point does
    (`video_nos="VI..."` says to write a list); None and an empty list mean "none by default"."""
    if value is None or (isinstance(value, list | tuple) and not value):
        return value
    return normalize_video_nos(value)  # a MaviValidationError is a ValueError: pydantic wraps it


class MaviConnection(BaseModel):
    """Key, host, timeout and retries; the clients are built from them on first use."""

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    api_key: SecretStr | None = Field(default_factory=secret_from_env(API_KEY_ENV, default=None))
    """MAVI API key; read from `MAVI_API_KEY` when not given or None. None when neither is set:
    requests then fail with `MaviAuthenticationError`."""
    base_url: str | None = Field(default_factory=from_env(BASE_URL_ENV, default=None))
    """API host; read from `MAVI_BASE_URL` when not given or None, else
    `https://mavi-backend.memories.ai`."""
    timeout: float | None = Field(default=DEFAULT_TIMEOUT, gt=0)
    """Seconds to wait for the service (per read while streaming); None waits forever."""
    max_retries: int = Field(default=DEFAULT_MAX_RETRIES, ge=0)
    """Retries on connection errors, timeouts, rate limits and 5xx, before any text arrived."""
    default_headers: dict[str, str] | None = None
    """Extra HTTP headers for every request."""
    # Typed Any (as langchain-openai does) so that importing the adapter does not load httpx.
    client: Any = Field(default=None, exclude=True, repr=False)
    """An existing `mavi_core.MaviClient` to use instead of one built from the fields above."""
    async_client: Any = Field(default=None, exclude=True, repr=False)
    """An existing `mavi_core.AsyncMaviClient` to use instead of one built from the fields."""
    rate_limit: Any = Field(default="auto", exclude=True)
    """The key's shared budget (`mavi_core.RateLimit`, a backend URL, "auto" or None); see
    `mavi_core.MaviClient`."""

    _sync_client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)

    @field_validator("api_key", mode="before")
    @classmethod
    def _api_key_from_env(cls, value: Any) -> Any:
        # None means "from the environment", as for `MaviClient(api_key=None)`.
        return os.environ.get(API_KEY_ENV) or None if value is None else value

    @field_validator("base_url", mode="before")
    @classmethod
    def _base_url_from_env(cls, value: Any) -> Any:
        return os.environ.get(BASE_URL_ENV) or None if value is None else value

    def _client_options(self) -> dict[str, Any]:
        return {
            "api_key": self.api_key,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "default_headers": self.default_headers,
            "rate_limit": self.rate_limit,
        }

    def _get_client(self) -> MaviClient:
        if self.client is not None:
            return cast("MaviClient", self.client)
        if self._sync_client is None:
            from mavi_core import MaviClient

            self._sync_client = MaviClient(**self._client_options())
        return cast("MaviClient", self._sync_client)

    def _get_async_client(self) -> AsyncMaviClient:
        if self.async_client is not None:
            return cast("AsyncMaviClient", self.async_client)
        if self._async_client is None:  # it keeps one connection pool per event loop
            from mavi_core import AsyncMaviClient

            self._async_client = AsyncMaviClient(**self._client_options())
        return cast("AsyncMaviClient", self._async_client)
