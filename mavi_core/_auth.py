"""Credentials: a plain API key, or v1.0 access tokens that refresh themselves.

Only the decisions live here (is the token due, what to send, what the reply means); the clients
do the HTTP call, under this object's locks so that many concurrent requests refresh once.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ._constants import TOKEN_REFRESH_MARGIN
from ._exceptions import MaviServerError
from ._secret import Secret, SecretLike, reveal

if TYPE_CHECKING:
    import asyncio

__all__ = ["MaviTokenAuth", "MaviTokens"]

_ACCESS_TOKEN_MAX_SECONDS = 7 * 24 * 3600
"""An access token lives hours; an `expiresIn` above a week can only be milliseconds."""
_REFRESH_TOKEN_MAX_SECONDS = 3 * 365 * 24 * 3600


def _secret(value: str | SecretLike | None) -> Secret | None:
    plain = reveal(value)
    return None if plain is None else Secret(plain)


def _to_epoch(value: float | datetime | None) -> float | None:
    if value is None or isinstance(value, int | float):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _seconds(value: object, plausible_max: float) -> float | None:
    """`expiresIn` as seconds: numbers may arrive as strings, and in milliseconds."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number / 1000.0 if number > plausible_max else number


@dataclass(frozen=True)
class MaviTokens:
    """A set of v1.0 tokens, as handed to `on_refresh` so callers can persist them."""

    access_token: Secret
    refresh_token: Secret | None = None
    expires_at: float | None = None
    """Unix time (seconds) when the access token expires, if the service said."""
    refresh_expires_at: float | None = None

    @classmethod
    def from_reply(
        cls, data: object, *, previous_refresh_token: Secret | None = None, now: float
    ) -> MaviTokens:
        """Read the `data` of getAccessToken / refreshAccessToken."""
        if not isinstance(data, Mapping) or not isinstance(data.get("accessToken"), str):
            raise MaviServerError(
                "The token endpoint answered without an accessToken; cannot authenticate. "
                "Re-authorize, or use an API key."
            )
        expires_in = _seconds(data.get("expiresIn"), _ACCESS_TOKEN_MAX_SECONDS)
        refresh_in = _seconds(data.get("refreshExpiresIn"), _REFRESH_TOKEN_MAX_SECONDS)
        refresh = data.get("refreshToken")
        refresh_token = Secret(refresh) if isinstance(refresh, str) else previous_refresh_token
        return cls(
            access_token=Secret(data["accessToken"]),
            refresh_token=refresh_token,
            expires_at=None if expires_in is None else now + expires_in,
            refresh_expires_at=None if refresh_in is None else now + refresh_in,
        )


class MaviTokenAuth:
    """v1.0 access-token credentials that refresh before expiry and once on a `0401` reply.

    >>> auth = MaviTokenAuth("at-...", refresh_token="rt-...", expires_at=time.time() + 7200,
    ...                      on_refresh=lambda tokens: store(tokens))  # doctest: +SKIP
    >>> MaviClient(auth=auth)  # doctest: +SKIP

    One object may be shared by many threads and tasks: concurrent requests that find the token
    expired (or rejected) trigger a single refresh.
    """

    def __init__(
        self,
        access_token: str | SecretLike,
        refresh_token: str | SecretLike | None = None,
        expires_at: float | datetime | None = None,
        on_refresh: Callable[[MaviTokens], Any] | None = None,
    ) -> None:
        token = _secret(access_token)
        if token is None or not token.get_secret_value():
            raise ValueError("access_token is empty: pass the accessToken from getAccessToken.")
        self._tokens = MaviTokens(
            access_token=token,
            refresh_token=_secret(refresh_token),
            expires_at=_to_epoch(expires_at),
        )
        self.on_refresh = on_refresh
        self.generation = 0
        """Increases with every refresh; a request remembers it to tell whether it is stale."""
        self._lock = threading.Lock()
        self._async_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def tokens(self) -> MaviTokens:
        return self._tokens

    @property
    def expires_at(self) -> float | None:
        return self._tokens.expires_at

    @property
    def can_refresh(self) -> bool:
        return self._tokens.refresh_token is not None

    def header_value(self) -> str:
        return self._tokens.access_token.get_secret_value()

    def needs_refresh(self, now: float | None = None) -> bool:
        """True when the token expires within the margin and a refresh token is known."""
        expires_at = self._tokens.expires_at
        if expires_at is None or not self.can_refresh:
            return False
        return (time.time() if now is None else now) >= expires_at - TOKEN_REFRESH_MARGIN

    def refresh_body(self) -> dict[str, str]:
        refresh_token = self._tokens.refresh_token
        if refresh_token is None:
            raise ValueError("no refresh token is known")
        return {"refreshToken": refresh_token.get_secret_value()}

    def apply_refresh(self, data: object, *, now: float | None = None) -> MaviTokens:
        """Take the reply of refreshAccessToken, bump `generation`, tell `on_refresh`."""
        tokens = MaviTokens.from_reply(
            data,
            previous_refresh_token=self._tokens.refresh_token,
            now=time.time() if now is None else now,
        )
        if tokens.refresh_expires_at is None:
            tokens = MaviTokens(
                tokens.access_token,
                tokens.refresh_token,
                tokens.expires_at,
                self._tokens.refresh_expires_at,
            )
        self._tokens = tokens
        self.generation += 1
        if self.on_refresh is not None:
            self.on_refresh(tokens)
        return tokens

    @property
    def lock(self) -> threading.Lock:
        """Held by a sync client while it refreshes."""
        return self._lock

    def async_lock(self) -> asyncio.Lock:
        """Held by an async client while it refreshes; one per event loop."""
        import asyncio  # only async callers pay for it

        loop = asyncio.get_running_loop()
        lock = self._async_locks.get(loop)
        if lock is None:
            lock = self._async_locks[loop] = asyncio.Lock()
        return lock

    def __repr__(self) -> str:
        return (
            f"MaviTokenAuth(access_token='**********', "
            f"refresh_token={'**********' if self.can_refresh else None!r}, "
            f"expires_at={self._tokens.expires_at!r})"
        )
