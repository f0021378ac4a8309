"""What a rate limit counts: the budgets of MAVI's endpoints, which budget a request draws on,
and whose (the account). Pure, no store and no waiting: `_quota` takes turns against these in
one of the stores of `_stores`.

MAVI limits calls per endpoint: v1.0 per key (chat 10 a minute and 1,500 a day, uploads and
moment searches 10, whole-video searches 20, listings 200 a minute); v1.2 per account, every key
of it sharing one budget, from its published table (tests/data/wire_samples/rate-limits.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeAlias

from ._exceptions import MaviValidationError
from ._secret import given

if TYPE_CHECKING:
    from ._settings import MaviSettings

__all__ = [
    "DEFAULT_BUDGETS",
    "Budget",
    "BudgetSpec",
    "RateLimitWait",
    "account_of",
    "endpoint_of",
    "key_account",
    "parse_budgets",
    "token_account",
]


@dataclass(frozen=True, slots=True)
class Budget:
    """At most `calls` requests in any `per` seconds."""

    calls: int
    per: float = 60.0

    def __post_init__(self) -> None:
        if isinstance(self.calls, bool) or not isinstance(self.calls, int) or self.calls < 1:
            raise MaviValidationError(f"Budget calls must be an int >= 1, got {self.calls!r}.")
        if not isinstance(self.per, int | float) or not self.per > 0:
            raise MaviValidationError(f"Budget per must be positive seconds, got {self.per!r}.")

    def __str__(self) -> str:
        return f"{self.calls} per {self.per:g} s"


BudgetSpec: TypeAlias = "int | Budget | Sequence[Budget] | None"
"""An endpoint's budget: calls a minute, one `Budget`, several (all must hold), or None (none)."""

DEFAULT_BUDGETS: Final[Mapping[str, tuple[Budget, ...]]] = {
    "chat": (Budget(10, 60.0), Budget(1500, 86400.0)),
    "upload": (Budget(10, 60.0),),
    "moments": (Budget(10, 60.0),),
    "search": (Budget(20, 60.0),),
    "list": (Budget(200, 60.0),),
    "transcription": (Budget(20, 60.0),),
    "chat_v12": (Budget(2, 60.0),),
    "upload_v12": (Budget(1, 60.0),),
    "search_v12": (Budget(1, 1.0),),
    "list_v12": (Budget(5, 1.0),),
    "sessions_v12": (Budget(5, 1.0),),
    "delete_v12": (Budget(5, 1.0),),
    "transcription_v12": (Budget(1, 1.0),),
    "vlm": (),
}
"""MAVI's documented limits: v1.0 per key from its API reference (a minute, and a day for chat);
v1.2 per account from api-tools.memories.ai/platform/rate-limits, read 2026-12-06 (copied at
tests/data/wire_samples/rate-limits.md): chat 2 a minute (chat and its stream), upload 1 a
minute (file or URL), search 1 a second, each transcription 1 a second, list videos, list
sessions and delete 5 a second. The video-understanding completions ("vlm") follow each model
provider's limits, which are not published: no budget, but a 0429 still pauses the key."""

_ENDPOINTS: Final[Mapping[str, str]] = {
    "/api/serve/video/chat": "chat",
    "/serve/api/v1/chat": "chat_v12",
    "/serve/api/v1/chat_stream": "chat_v12",
    "/api/serve/video/upload": "upload",
    "/api/serve/video/uploadUrl": "upload",
    "/api/serve/video/searchVideoFragment": "moments",
    "/api/serve/video/searchAI": "search",
    "/api/serve/video/searchDB": "list",
    "/api/serve/video/subTranscription": "transcription",
    "/serve/api/v1/upload": "upload_v12",
    "/serve/api/v1/upload_url": "upload_v12",
    "/serve/api/v1/search": "search_v12",
    "/serve/api/v1/list_videos": "list_v12",
    "/serve/api/v1/list_sessions": "sessions_v12",
    "/serve/api/v1/delete_videos": "delete_v12",
    "/serve/api/v1/get_video_transcription": "transcription_v12",
    "/serve/api/v1/get_audio_transcription": "transcription_v12",
    "/serve/api/v2/vu/chat/completions": "vlm",
}


def endpoint_of(path: str) -> str | None:
    """The budget a request path draws on; None for endpoints MAVI does not limit per minute."""
    return _ENDPOINTS.get(path)


@dataclass(frozen=True, slots=True)
class RateLimitWait:
    """What `on_wait` receives: a call waited `seconds` for its turn at `endpoint`."""

    endpoint: str
    seconds: float
    reason: str
    """"budget": the endpoint's budget was spent; "paused": the service asked to wait."""


def parse_budgets(spec: Mapping[str, BudgetSpec] | None) -> dict[str, tuple[Budget, ...]]:
    """The documented budgets with `spec`'s overrides; `MaviValidationError` for an unknown
    endpoint or a value that is not a budget."""
    budgets = dict(DEFAULT_BUDGETS)
    for endpoint, value in (spec or {}).items():
        if endpoint not in DEFAULT_BUDGETS:
            raise MaviValidationError(
                f"Unknown rate-limit endpoint {endpoint!r}; use one of {sorted(DEFAULT_BUDGETS)}."
            )
        if value is None:
            budgets[endpoint] = ()
        elif isinstance(value, Budget):
            budgets[endpoint] = (value,)
        elif isinstance(value, int) and not isinstance(value, bool):
            budgets[endpoint] = (Budget(value, 60.0),)
        elif isinstance(value, list | tuple) and all(isinstance(item, Budget) for item in value):
            budgets[endpoint] = tuple(value)
        else:
            raise MaviValidationError(
                f"budgets[{endpoint!r}] must be calls a minute (an int), a Budget, a list of "
                f"Budgets or None, got {given(value)}."
            )
    return budgets


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def key_account(key: str | None) -> str:
    """Which key's budget a call draws on, without the key itself: a short hash of it."""
    return hashlib.sha256(key.encode()).hexdigest()[:16] if key else "anonymous"


def token_account(identity: str) -> str:
    """Which token user's budget a call draws on: a short keyed hash of the token auth's
    `identity` (its refresh token, else its access token), never the token itself; apart from
    every key's account (`key_account`)."""
    digest = hashlib.sha256(f"mavi-integrations token\0{identity}".encode()).hexdigest()
    return "token-" + digest[:16]


def account_of(settings: MaviSettings) -> str:
    """The account of a client's credentials in a shared store: one per key, one per token
    user (two users with token auth never share a budget)."""
    if settings.api_key is not None:
        return key_account(settings.api_key.get_secret_value())
    if settings.auth is not None:
        return token_account(settings.auth.identity.get_secret_value())
    return key_account(None)
