"""langchain_mavi: Memories.ai MAVI video chat for LangChain.

    from langchain_mavi import ChatMavi, MaviVideoChatTool

    llm = ChatMavi(video_nos=["VI..."])          # MAVI_API_KEY / MAVI_BASE_URL from the env
    llm.invoke("What happens in the video?")
    tool = MaviVideoChatTool(video_nos=["VI..."])  # for agents: name "mavi_video_chat"
    retriever = MaviVideoRetriever()              # matching moments as Documents
    loader = MaviTranscriptLoader(["VI..."])      # what was said and shown, as Documents

Errors raised through `ChatMavi` are both the `mavi_core` error and the matching
`langchain_core.exceptions` class (see `langchain_mavi._errors`).
"""

from typing import TYPE_CHECKING, Any

from mavi_core._extras import load_lazily, missing_extra

try:
    import langchain_core  # noqa: F401  (the "langchain" extra)
except ModuleNotFoundError as error:
    raise missing_extra(
        error,
        package="langchain_mavi",
        framework="LangChain (langchain-core)",
        root="langchain_core",
        extra="langchain",
    ) from error

from ._errors import (
    ChatMaviAPIError,
    ChatMaviAuthenticationError,
    ChatMaviConflictError,
    ChatMaviConnectionError,
    ChatMaviError,
    ChatMaviInvalidRequestError,
    ChatMaviPermissionDeniedError,
    ChatMaviRateLimitError,
    ChatMaviServerError,
    ChatMaviStreamError,
    ChatMaviStreamTimeoutError,
    ChatMaviTimeoutError,
    ChatMaviValidationError,
)
from ._events import RATE_LIMIT_WAIT_EVENT
from ._messages import messages_to_conversation, messages_to_request
from .chat_models import DEFAULT_MODEL_NAME, ChatMavi
from .tools import MaviVideoChatArtifact, MaviVideoChatInput, MaviVideoChatTool

if TYPE_CHECKING:
    from .document_loaders import MaviTranscriptLoader
    from .rate_limiters import MaviRateLimiter
    from .retrievers import MaviVideoRetriever
    from .vlm import ChatMaviVLM

__all__ = [
    "DEFAULT_MODEL_NAME",
    "RATE_LIMIT_WAIT_EVENT",
    "ChatMavi",
    "ChatMaviAPIError",
    "ChatMaviAuthenticationError",
    "ChatMaviConflictError",
    "ChatMaviConnectionError",
    "ChatMaviError",
    "ChatMaviInvalidRequestError",
    "ChatMaviPermissionDeniedError",
    "ChatMaviRateLimitError",
    "ChatMaviServerError",
    "ChatMaviStreamError",
    "ChatMaviStreamTimeoutError",
    "ChatMaviTimeoutError",
    "ChatMaviVLM",
    "ChatMaviValidationError",
    "MaviRateLimiter",
    "MaviTranscriptLoader",
    "MaviVideoChatArtifact",
    "MaviVideoChatInput",
    "MaviVideoChatTool",
    "MaviVideoRetriever",
    "messages_to_conversation",
    "messages_to_request",
]


_LAZY: dict[str, str] = {
    "MaviRateLimiter": "rate_limiters",
    "MaviTranscriptLoader": "document_loaders",
    "MaviVideoRetriever": "retrievers",
    "ChatMaviVLM": "vlm",
}
"""Components whose modules (and the parts of mavi_core they need) load on first use."""


def __getattr__(name: str) -> Any:
    return load_lazily(__name__, _LAZY, name, globals())


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})  # the names that load on first use too
