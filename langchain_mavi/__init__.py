"""langchain_mavi: Memories.ai MAVI video chat for LangChain.

    from langchain_mavi import ChatMavi, MaviVideoChatTool

    llm = ChatMavi(video_nos=["VI..."])          # MAVI_API_KEY / MAVI_BASE_URL from the env
    llm.invoke("What happens in the video?")
    tool = MaviVideoChatTool(video_nos=["VI..."])  # for agents: name "mavi_video_chat"
    retriever = MaviVideoRetriever()              # matching moments as Documents
    loader = MaviTranscriptLoader(["VI..."])      # what was said and shown, as Documents
    history = MaviChatMessageHistory(session_id)  # a v1.2 session's messages, restored

Errors raised through `ChatMavi` are both the `mavi_core` error and the matching
`langchain_core.exceptions` class: `langchain_mavi.errors`.
"""

from typing import TYPE_CHECKING

from mavi_core._extras import lazy_exports, missing_extra

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

from . import errors
from ._events import RATE_LIMIT_WAIT_EVENT
from ._messages import messages_to_conversation, messages_to_request
from .chat_models import DEFAULT_MODEL_NAME, ChatMavi
from .tools import MaviVideoChatArtifact, MaviVideoChatInput, MaviVideoChatTool

if TYPE_CHECKING:
    from .chat_message_histories import MaviChatMessageHistory
    from .document_loaders import MaviTranscriptLoader
    from .rate_limiters import MaviRateLimiter
    from .retrievers import MaviVideoRetriever, format_video_context, video_context_message
    from .vlm import ChatMaviVLM

__all__ = [
    "DEFAULT_MODEL_NAME",
    "RATE_LIMIT_WAIT_EVENT",
    "ChatMavi",
    "ChatMaviVLM",
    "MaviChatMessageHistory",
    "MaviRateLimiter",
    "MaviTranscriptLoader",
    "MaviVideoChatArtifact",
    "MaviVideoChatInput",
    "MaviVideoChatTool",
    "MaviVideoRetriever",
    "format_video_context",
    "messages_to_conversation",
    "messages_to_request",
    "video_context_message",
]


_LAZY: dict[str, str] = {
    "MaviChatMessageHistory": "chat_message_histories",
    "MaviRateLimiter": "rate_limiters",
    "MaviTranscriptLoader": "document_loaders",
    "MaviVideoRetriever": "retrievers",
    **dict.fromkeys(errors.__all__, "errors"),  # importable from here too, as they once were
    "format_video_context": "retrievers",
    "video_context_message": "retrievers",
    "ChatMaviVLM": "vlm",
}
"""Components whose modules (and the parts of mavi_core they need) load on first use."""

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
