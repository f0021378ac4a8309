"""Credentials: the console API key, authorization codes, access/refresh tokens, rate limits."""

from __future__ import annotations

import hmac
import math
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

DEFAULT_API_KEY = "sk-mavi-emulator"
DEFAULT_CLIENT_ID = "mavi-emulator-client"
# A development authorization code the emulator always accepts (minted codes are single use).
DEFAULT_AUTH_CODE = "mavi-emulator-code"
REFRESH_TTL = 60 * 24 * 3600.0  # about two months, as documented
RATE_WINDOW = 60.0


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int


class AuthError(Exception):
    """A credential was refused; the message is safe to show (it never contains the secret)."""


def bearer_value(header: str | None) -> str | None:
    """The credential in an Authorization header, raw or with a ``Bearer`` prefix."""
    if header is None:
        return None
    value = header.strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        value = rest.strip()
    return value or None


class TokenStore:
    """Thread-safe issuer and checker of the emulator's credentials."""

    def __init__(
        self, *, api_key: str, client_id: str, token_ttl: float, auth_code: str | None = None
    ) -> None:
        self.api_key = api_key
        self.client_id = client_id
        self.token_ttl = token_ttl
        self.auth_code = auth_code
        self._lock = threading.Lock()
        self._codes: set[str] = set()
        self._access: dict[str, float] = {}  # token -> monotonic expiry
        self._refresh: dict[str, float] = {}
        self._grants: dict[str, str] = {}  # access or refresh token -> the grant it belongs to

    def mint_code(self) -> str:
        code = "mavi-code-" + secrets.token_hex(12)
        with self._lock:
            self._codes.add(code)
        return code

    def issue(self) -> IssuedTokens:
        now = time.monotonic()
        access = "mavi-at-" + secrets.token_hex(16)
        refresh = "mavi-rt-" + secrets.token_hex(16)
        grant = "grant-" + secrets.token_hex(8)
        with self._lock:
            self._access[access] = now + self.token_ttl
            self._refresh[refresh] = now + REFRESH_TTL
            self._grants[access] = self._grants[refresh] = grant
        return IssuedTokens(access, refresh, self._expires_in(), int(REFRESH_TTL))

    def exchange_code(self, client_id: str, code: str) -> IssuedTokens:
        if not hmac.compare_digest(client_id.encode(), self.client_id.encode()):
            raise AuthError("clientId is not a registered client of this developer account.")
        fixed = self.auth_code
        if fixed is not None and hmac.compare_digest(code.encode(), fixed.encode()):
            return self.issue()
        with self._lock:
            if code not in self._codes:
                raise AuthError("code is invalid or has already been used.")
            self._codes.discard(code)
        return self.issue()

    def refresh(self, refresh_token: str) -> tuple[str, int]:
        """A new access token for a valid refresh token (which stays valid)."""
        now = time.monotonic()
        with self._lock:
            if self._refresh.get(refresh_token, 0.0) <= now:
                raise AuthError(
                    "refreshToken is invalid or expired; request a new authorization code."
                )
            access = "mavi-at-" + secrets.token_hex(16)
            self._access[access] = now + self.token_ttl
            self._grants[access] = self._grants[refresh_token]
        return access, self._expires_in()

    def owner(self, credential: str | None) -> str:
        """Whose a request is, for what is kept per user (the v1.2 sessions): the API key's
        developer account, or the user of one authorization (a code exchanged; its refreshed
        tokens stay that user's). Call after `check`."""
        if credential is None:
            return ""
        if hmac.compare_digest(credential.encode(), self.api_key.encode()):
            return "api-key"
        with self._lock:
            return self._grants.get(credential, "")

    def check(self, credential: str | None) -> None:
        """Raise AuthError unless `credential` is the API key or an unexpired access token."""
        if credential is None:
            raise AuthError(
                "Authorization header is missing: send your API key or access token in it."
            )
        if hmac.compare_digest(credential.encode(), self.api_key.encode()):
            return
        with self._lock:
            expiry = self._access.get(credential)
        if expiry is None:
            raise AuthError("Token is invalid.")
        if expiry <= time.monotonic():
            raise AuthError(
                "Token has expired; refresh it through /auth/api/token/refreshAccessToken."
            )

    def expire_all(self) -> None:
        with self._lock:
            for token in self._access:
                self._access[token] = -math.inf

    def _expires_in(self) -> int:
        return max(0, math.ceil(self.token_ttl))


class RateLimiter:
    """At most `limit` calls per credential and endpoint in any rolling `window` seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[tuple[str, str], deque[float]] = {}

    def wait(
        self, credential: str, limit: int | None, window: float = RATE_WINDOW, endpoint: str = ""
    ) -> float | None:
        """Count a call and return None, or the seconds until a slot frees if over `limit`."""
        if limit is None:
            return None
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault((credential, endpoint), deque())
            while calls and calls[0] <= now - window:
                calls.popleft()
            if len(calls) >= limit:
                return max(0.0, calls[len(calls) - limit] + window - now)
            calls.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
