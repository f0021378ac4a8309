"""v1.0 access tokens that refresh themselves: only the decisions (is the token due, what the
reply means, who refreshes); the flows do the HTTP call (docs/errors-and-wire.md#credentials)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from ._exceptions import MaviError, MaviServerError, MaviValidationError
from ._secret import SecretLike, check_credential, given

if TYPE_CHECKING:
    from pydantic import SecretStr

TOKEN_REFRESH_MARGIN: Final = 60.0  # seconds before an access token expires
REFRESH_FAILURE_COOLDOWN: Final = 5.0
"""A failed refresh answers the requests that ask again for this long, instead of a new call."""

_PLAUSIBLE_SECONDS = {"expiresIn": 7 * 24 * 3600, "refreshExpiresIn": 3 * 365 * 24 * 3600}
"""Tokens live hours, refresh tokens months: an expiry above these can only be milliseconds."""


def _secret(value: object, what: str, reply: str) -> SecretStr:
    """A token given as a string or a SecretStr, checked, never quoted."""
    plain = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    if not isinstance(plain, str):
        raise MaviValidationError(
            f"MaviTokenAuth: {what} must be a string or a SecretStr holding one, got "
            f"{given(plain, secret=True)}: pass the {reply} that "
            "getAccessToken answered: `client.exchange_code(client_id, code)` returns the "
            'credentials (docs/client.md, "Access tokens").'
        )
    return check_credential(plain, what)


class RefreshAbandoned(Exception):
    """The caller leading a refresh gave up (cancelled): a waiter should claim it again."""


class RefreshTicket(NamedTuple):
    """One caller's part in a refresh: lead it (do the HTTP call), or wait for `future`."""

    future: Future[MaviTokens]
    leader: bool


def _expiry(reply: Mapping[str, Any], key: str, now: float) -> float | None:
    """When the reply's `key` (`expiresIn`...) ends: numbers may be strings, and milliseconds."""
    try:
        number = float(reply.get(key))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return now + (number / 1000.0 if number > _PLAUSIBLE_SECONDS[key] else number)


def _token(reply: Mapping[str, Any], key: str) -> SecretStr | None:
    """A token of the reply (None: absent), refused when a header cannot carry it."""
    value = reply.get(key)
    if not isinstance(value, str):
        return None
    try:
        return check_credential(value, key)
    except ValueError:
        raise MaviServerError(
            f"The token endpoint answered with {key} set to a value that cannot be sent in a "
            "header (empty, or holding white space, a control character or non-ASCII); "
            "cannot authenticate. Re-authorize, or use an API key."
        ) from None


@dataclass(frozen=True)
class MaviTokens:
    """A set of v1.0 tokens, as handed to `on_refresh` so callers can persist them."""

    access_token: SecretStr
    refresh_token: SecretStr | None = None
    expires_at: float | None = None
    """Unix time (seconds) when the access token expires, if the service said."""
    refresh_expires_at: float | None = None

    @classmethod
    def from_reply(
        cls, data: object, *, now: float, previous: MaviTokens | None = None
    ) -> MaviTokens:
        """The tokens in getAccessToken's or refreshAccessToken's `data`, the rest `previous`'s."""
        reply = data if isinstance(data, Mapping) else {}
        access_token = _token(reply, "accessToken")
        if access_token is None:
            raise MaviServerError(
                "The token endpoint answered without an accessToken; cannot authenticate. "
                "Re-authorize, or use an API key."
            )
        kept = previous or cls(access_token)
        return cls(
            access_token,
            _token(reply, "refreshToken") or kept.refresh_token,
            _expiry(reply, "expiresIn", now),
            _expiry(reply, "refreshExpiresIn", now) or kept.refresh_expires_at,
        )


class MaviTokenAuth:
    """v1.0 access tokens refreshed before expiry and once on a `0401`: one refresh for every
    thread, loop and client using them (docs/client.md#access-tokens-the-v10-oauth-style-flow)."""

    def __init__(
        self,
        access_token: str | SecretLike,
        refresh_token: str | SecretLike | None = None,
        expires_at: float | datetime | None = None,
        on_refresh: Callable[[MaviTokens], Any] | None = None,
    ) -> None:
        token = _secret(access_token, "access_token", "accessToken")
        if type(expires_at) is bool or not isinstance(expires_at, int | float | datetime | None):
            raise MaviValidationError(
                "MaviTokenAuth: expires_at must be Unix time in seconds (a number), a datetime "
                f"or None, got {given(expires_at)}."
            )
        if on_refresh is not None and not callable(on_refresh):
            raise MaviValidationError(
                "MaviTokenAuth: on_refresh must be a function taking the new MaviTokens, or "
                f"None, got {given(on_refresh)}."
            )
        if isinstance(expires_at, datetime):  # a naive one is UTC
            expires_at = expires_at.replace(tzinfo=expires_at.tzinfo or UTC).timestamp()
        if refresh_token is not None:
            refresh_token = _secret(refresh_token, "refresh_token", "refreshToken")
        self._tokens = MaviTokens(token, refresh_token, expires_at)
        self.on_refresh = on_refresh
        self.identity: Final = self._tokens.refresh_token or token
        """Whose tokens these are (hashed for what is kept per account); a refresh keeps it."""
        self.generation = 0
        """Increases with every refresh; a request remembers it to tell whether it is stale."""
        self._lock = threading.Lock()
        self._in_flight: Future[MaviTokens] | None = None
        self._failure: tuple[float, BaseException] | None = None
        """When the last refresh failed, and how (cleared by a refresh that succeeds)."""

    @classmethod
    def from_tokens(
        cls, tokens: MaviTokens, on_refresh: Callable[[MaviTokens], Any] | None = None
    ) -> MaviTokenAuth:
        """Credentials from tokens, e.g. those `exchange_code` received (all of them kept, so
        `on_refresh` hands on the refresh token's expiry a refresh reply leaves out)."""
        auth = cls(tokens.access_token, tokens.refresh_token, tokens.expires_at, on_refresh)
        auth._tokens = tokens
        return auth

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

    def needs_refresh(self) -> bool:
        return self.can_refresh and not self.is_valid(TOKEN_REFRESH_MARGIN)

    def is_valid(self, margin: float = 0.0) -> bool:
        """True while the access token has more than `margin` seconds left (or no known end)."""
        return self.expires_at is None or time.time() < self.expires_at - margin

    def claim_refresh(self, generation: int) -> RefreshTicket | None:
        """None when `generation`'s tokens were replaced; else who leads the refresh, who waits."""
        with self._lock:
            if self.generation != generation:
                return None
            if self._in_flight is not None:
                return RefreshTicket(self._in_flight, leader=False)
            future: Future[MaviTokens] = Future()
            if self._failure and time.time() - self._failure[0] < REFRESH_FAILURE_COOLDOWN:
                future.set_exception(self._failure[1])
                return RefreshTicket(future, leader=False)
            self._in_flight = future
            return RefreshTicket(future, leader=True)

    def finish_refresh(
        self, ticket: RefreshTicket, data: object = None, error: BaseException | None = None
    ) -> None:
        """Apply the reply's `data`, or share `error` with the waiters; raises a malformed reply."""
        tokens = None
        if error is None:  # only the leader replaces the tokens: read outside the lock
            try:
                tokens = MaviTokens.from_reply(data, now=time.time(), previous=self._tokens)
            except MaviError as malformed:
                self.finish_refresh(ticket, error=malformed)
                raise
        with self._lock:
            self._in_flight = None
            if tokens is not None:
                self._tokens, self._failure = tokens, None
                self.generation += 1
            elif isinstance(error, MaviError):
                self._failure = (time.time(), error)
        with contextlib.suppress(InvalidStateError):  # a future someone cancelled takes nothing
            if tokens is None:
                ticket.future.set_exception(error)
            else:
                ticket.future.set_result(tokens)
        if tokens is not None and self.on_refresh is not None:
            self.on_refresh(tokens)  # the new tokens are in use: the caller must keep them

    def refresh_body(self) -> dict[str, str]:
        refresh_token = self._tokens.refresh_token
        assert refresh_token is not None, "refreshed only when can_refresh"
        return {"refreshToken": refresh_token.get_secret_value()}

    def __repr__(self) -> str:
        return (
            f"MaviTokenAuth(access_token='**********', "
            f"refresh_token={'**********' if self.can_refresh else None!r}, "
            f"expires_at={self._tokens.expires_at!r})"
        )
