"""mavi_core: sync and async clients for Memories.ai's MAVI video APIs (docs/client.md).

`mavi_core.constants` holds the defaults, `mavi_core.transcripts` the transcript helpers and
`mavi_core.emulator` a local MAVI server for offline work and tests.

    from mavi_core import MaviClient

    with MaviClient() as client:                     # MAVI_API_KEY / MAVI_BASE_URL
        for delta in client.stream_chat(video_nos=["VI..."], message="What happens?"):
            print(delta.text, end="", flush=True)
"""

from typing import TYPE_CHECKING

from ._auth import MaviTokenAuth, MaviTokens
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
from ._extras import lazy_exports
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
from ._version import __version__ as __version__

if TYPE_CHECKING:
    from ._budgets import Budget, RateLimitWait
    from ._bulk import BulkAnswer
    from ._client import AsyncChatStream, AsyncMaviClient, ChatStream, MaviClient
    from ._quota import RateLimit
    from ._videos import Moment, SearchType, Transcript, TranscriptSegment, Video
    from .transcripts import VideoTranscript

__all__ = [
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
    "RateLimit",
    "RateLimitWait",
    "SearchType",
    "SessionDetail",
    "StoredMessage",
    "Thinking",
    "Transcript",
    "TranscriptSegment",
    "Video",
    "VideoRef",
    "VideoTranscript",
]

_LAZY: dict[str, str] = {  # loaded on first use: `import mavi_core` loads no httpx
    **dict.fromkeys(("AsyncChatStream", "AsyncMaviClient", "ChatStream", "MaviClient"), "_client"),
    **dict.fromkeys(("Budget", "RateLimitWait"), "_budgets"),
    "RateLimit": "_quota",
    "BulkAnswer": "_bulk",
    **dict.fromkeys(
        ("Moment", "SearchType", "Transcript", "TranscriptSegment", "Video"), "_videos"
    ),
    "VideoTranscript": "transcripts",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
