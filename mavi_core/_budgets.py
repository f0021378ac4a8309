"""What a rate limit counts: MAVI's budgets and which one a request draws on (whose budget:
`MaviSettings.fingerprint`). Pure: `_quota` takes turns against them in a store of `_stores`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

from ._exceptions import MaviValidationError
from ._secret import given


def check_number(value: object, name: str, *, zero: bool = False, whole: bool = False) -> None:
    """Refuse, naming `name`, what is not a finite number > 0 (>= 0 with `zero`; an int with
    `whole`): a bool or a string is no number."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int if whole else int | float)
        or not (0 <= value < math.inf and (zero or value > 0))
    ):
        kind = "an int" if whole else "a finite number"
        raise MaviValidationError(
            f"{name} must be {kind} {'>=' if zero else '>'} 0, got {given(value)}."
        )


@dataclass(frozen=True, slots=True)
class Budget:
    """At most `calls` requests in any `per` seconds."""

    calls: int
    per: float = 60.0

    def __post_init__(self) -> None:
        check_number(self.calls, "Budget calls", whole=True)
        check_number(self.per, "Budget per (seconds)")

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
