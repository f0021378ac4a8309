"""What a rate limit counts: MAVI's budgets and which one a request draws on (whose budget:
`MaviSettings.fingerprint`). Pure: `_quota` takes turns against them in a store of `_stores`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

from ._exceptions import MaviValidationError
from ._secret import given
from ._settings import ensure


def check_number(value: object, name: str, *, zero: bool = False, whole: bool = False) -> None:
    """Refuse, naming `name`, what is not a finite number > 0 (>= 0 with `zero`; an int with
    `whole`): a bool or a string is no number."""
    number = not isinstance(value, bool) and isinstance(value, int if whole else int | float)
    ok = number and 0 <= value < math.inf and (zero or value > 0)  # type: ignore[operator]
    kind = "an int" if whole else "a finite number"
    ensure(ok, value, f"{name} must be {kind} {'>=' if zero else '>'} 0")


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

_TABLE: Final[Mapping[str, tuple[tuple[Budget, ...], tuple[str, ...]]]] = {
    "chat": ((Budget(10, 60.0), Budget(1500, 86400.0)), ("/api/serve/video/chat",)),
    "upload": ((Budget(10, 60.0),), ("/api/serve/video/upload", "/api/serve/video/uploadUrl")),
    "moments": ((Budget(10, 60.0),), ("/api/serve/video/searchVideoFragment",)),
    "search": ((Budget(20, 60.0),), ("/api/serve/video/searchAI",)),
    "list": ((Budget(200, 60.0),), ("/api/serve/video/searchDB",)),
    "transcription": ((Budget(20, 60.0),), ("/api/serve/video/subTranscription",)),
    "chat_v12": ((Budget(2, 60.0),), ("/serve/api/v1/chat", "/serve/api/v1/chat_stream")),
    "upload_v12": ((Budget(1, 60.0),), ("/serve/api/v1/upload", "/serve/api/v1/upload_url")),
    "search_v12": ((Budget(1, 1.0),), ("/serve/api/v1/search",)),
    "list_v12": ((Budget(5, 1.0),), ("/serve/api/v1/list_videos",)),
    "sessions_v12": ((Budget(5, 1.0),), ("/serve/api/v1/list_sessions",)),
    "delete_v12": ((Budget(5, 1.0),), ("/serve/api/v1/delete_videos",)),
    "transcription_v12": (
        (Budget(1, 1.0),),
        ("/serve/api/v1/get_video_transcription", "/serve/api/v1/get_audio_transcription"),
    ),
    "vlm": ((), ("/serve/api/v2/vu/chat/completions",)),
}
"""Each budget: MAVI's documented limits, and the request paths that draw on it. v1.0 counts per
key, v1.2 per account (its published table, copied at tests/data/wire_samples/rate-limits.md);
"vlm" follows each model provider's unpublished limits, so only a 0429 pauses it
(docs/rate-limits-and-bulk.md#the-budgets)."""

DEFAULT_BUDGETS: Final[Mapping[str, tuple[Budget, ...]]] = {
    name: budgets for name, (budgets, _) in _TABLE.items()
}

endpoint_of: Final = {path: name for name, (_, paths) in _TABLE.items() for path in paths}.get
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
