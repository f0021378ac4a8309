"""What a rate limit counts: MAVI's budgets, which one a request draws on, and whose (the
account). Pure: `_quota` takes turns against them in a store of `_stores`."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeAlias

from ._exceptions import MaviValidationError
from ._secret import given

if TYPE_CHECKING:
    from ._settings import MaviSettings


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
"""MAVI's documented limits: v1.0 per key, v1.2 per account (its published table, copied at
tests/data/wire_samples/rate-limits.md); "vlm" follows each model provider's unpublished limits,
so only a 0429 pauses it (docs/rate-limits-and-bulk.md#the-budgets)."""

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

endpoint_of: Final = _ENDPOINTS.get
"""The budget a request path draws on; None for endpoints MAVI does not limit."""


@dataclass(frozen=True, slots=True)
class RateLimitWait:
    """What `on_wait` receives: a call waited `seconds` for its turn at `endpoint`."""

    endpoint: str
    seconds: float
    reason: str  # "budget": the endpoint's budget was spent; "paused": the service asked to wait


def parse_budgets(spec: Mapping[str, BudgetSpec] | None) -> dict[str, tuple[Budget, ...]]:
    """The documented budgets with `spec`'s overrides (each a `BudgetSpec`)."""
    budgets = dict(DEFAULT_BUDGETS)
    for endpoint, value in (spec or {}).items():
        if endpoint not in DEFAULT_BUDGETS:
            raise MaviValidationError(
                f"Unknown rate-limit endpoint {endpoint!r}; use one of {sorted(DEFAULT_BUDGETS)}."
            )
        if isinstance(value, int) and not isinstance(value, bool):
            value = Budget(value)
        value = (value,) if isinstance(value, Budget) else () if value is None else value
        if not isinstance(value, list | tuple) or not all(isinstance(b, Budget) for b in value):
            raise MaviValidationError(
                f"budgets[{endpoint!r}] must be calls a minute (an int), a Budget, a list of "
                f"Budgets or None, got {given(value)}."
            )
        budgets[endpoint] = tuple(value)
    return budgets


def key_account(key: str | None) -> str:
    """Which key's budget a call draws on, without the key itself: a short hash of it."""
    return hashlib.sha256(key.encode()).hexdigest()[:16] if key else "anonymous"


def account_of(settings: MaviSettings) -> str:
    """The account of a client's credentials in a shared store: one per key, one per token user
    (a hash of its refresh token, else its access token; never a key's)."""
    if settings.api_key is not None:
        return key_account(settings.api_key.get_secret_value())
    if settings.auth is not None:
        identity = settings.auth.identity.get_secret_value()
        digest = hashlib.sha256(f"mavi-integrations token\0{identity}".encode()).hexdigest()
        return "token-" + digest[:16]
    return key_account(None)
