"""mavi_core: the shared transport for Memories.ai's MAVI video chat API.

Sync and async clients, authentication (API key, or access tokens that refresh themselves),
the reply envelope and its error codes, a tolerant decoder for the `data:`-framed stream,
retries with backoff, timeouts and typed errors. `mavi_core.emulator` holds a local
MAVI-compatible server for offline work and tests.

    from mavi_core import MaviClient

    with MaviClient() as client:                     # MAVI_API_KEY / MAVI_BASE_URL
        for delta in client.stream_chat(video_nos=["VI..."], message="What happens?"):
            print(delta.text, end="", flush=True)
"""

from typing import TYPE_CHECKING, Any

from ._auth import MaviTokenAuth, MaviTokens
from ._constants import (
    API_KEY_ENV,
    API_VERSION_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
)
from ._exceptions import (
    MaviAPIError,
    MaviAuthenticationError,
    MaviConflictError,
    MaviConnectionError,
    MaviError,
    MaviInvalidRequestError,
    MaviPermissionDeniedError,
    MaviRateLimitError,
    MaviRemoteError,
    MaviServerError,
    MaviStreamError,
    MaviStreamTimeoutError,
    MaviTimeoutError,
    MaviValidationError,
    MaviVideoError,
)
from ._extras import load_lazily
from ._models import (
    ChatAnswer,
    ChatDelta,
    ChatSession,
    ChatTurn,
    SessionDetail,
    StoredMessage,
    Thinking,
    VideoRef,
)
from ._settings import MaviSettings
from ._version import __version__

if TYPE_CHECKING:
    from ._bulk import BulkAnswer
    from ._client import AsyncChatStream, AsyncMaviClient, ChatStream, MaviClient
    from ._quota import DEFAULT_BUDGETS, Budget, RateLimit, RateLimitWait
    from ._transcripts import (
        Passage,
        TranscriptCache,
        TranscriptKind,
        VideoTranscript,
        moment_content,
        passage_id,
        time_unit,
        transcript_passages,
    )
    from ._videos import Moment, Transcript, TranscriptSegment, Video

__all__ = [
    "API_KEY_ENV",
    "API_VERSION_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "DEFAULT_BUDGETS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "AsyncChatStream",
    "AsyncMaviClient",
    "Budget",
    "BulkAnswer",
    "ChatAnswer",
    "ChatDelta",
    "ChatSession",
    "ChatStream",
    "ChatTurn",
    "MaviAPIError",
    "MaviAuthenticationError",
    "MaviClient",
    "MaviConflictError",
    "MaviConnectionError",
    "MaviError",
    "MaviInvalidRequestError",
    "MaviPermissionDeniedError",
    "MaviRateLimitError",
    "MaviRemoteError",
    "MaviServerError",
    "MaviSettings",
    "MaviStreamError",
    "MaviStreamTimeoutError",
    "MaviTimeoutError",
    "MaviTokenAuth",
    "MaviTokens",
    "MaviValidationError",
    "MaviVideoError",
    "Moment",
    "Passage",
    "RateLimit",
    "RateLimitWait",
    "SessionDetail",
    "StoredMessage",
    "Thinking",
    "Transcript",
    "TranscriptCache",
    "TranscriptKind",
    "TranscriptSegment",
    "Video",
    "VideoRef",
    "VideoTranscript",
    "__version__",
    "moment_content",
    "passage_id",
    "time_unit",
    "transcript_passages",
]

_LAZY: dict[str, str] = {
    **dict.fromkeys(("AsyncChatStream", "AsyncMaviClient", "ChatStream", "MaviClient"), "_client"),
    **dict.fromkeys(("DEFAULT_BUDGETS", "Budget", "RateLimit", "RateLimitWait"), "_quota"),
    "BulkAnswer": "_bulk",
    **dict.fromkeys(("Moment", "Transcript", "TranscriptSegment", "Video"), "_videos"),
    **dict.fromkeys(
        (
            "Passage",
            "TranscriptCache",
            "TranscriptKind",
            "VideoTranscript",
            "moment_content",
            "passage_id",
            "time_unit",
            "transcript_passages",
        ),
        "_transcripts",
    ),
}
"""Names whose modules load on first use (the clients with httpx, rate limits, bulk questions,
transcripts), keeping `import mavi_core` and the adapters' imports light."""


_MOVED = frozenset(
    {
        "ChatPrompt",
        "Role",
        "conversation_to_chat",
        "describe_moment",
        "moment_metadata",
        "moment_scores",
        "normalize_video_nos",
        "rank_score",
    }
)
"""Helpers once exported here only so the adapters could share them; now in `_adapters`."""


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import warnings

        from . import _adapters

        warnings.warn(
            f"mavi_core.{name} is internal and will be removed from mavi_core's namespace; it "
            "was exported only for the adapters (mavi_core._adapters).",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(_adapters, name)
    return load_lazily(__name__, _LAZY, name, globals())


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})  # the names that load on first use too
