"""llamaindex_mavi: Memories.ai MAVI video chat as a LlamaIndex LLM, query and chat engines.

    from llamaindex_mavi import MaviQueryEngine, MaviChatEngine

    engine = MaviQueryEngine(video_nos=["VI..."])           # MAVI_API_KEY from the environment
    print(engine.query("What happens in the video?"))
    tool = engine.as_tool(name="kitchen_video", description="Answers questions about ...")

    chat = MaviChatEngine(video_nos=["VI..."])
    chat.chat("Who is in the video?")
    chat.chat("What do they do next?")                       # earlier turns go as history

    retriever = MaviVideoRetriever()                          # matching moments as nodes
    reader = MaviTranscriptReader(["VI..."])                  # what was said and shown
    llm = MaviLLM(video_nos=["VI..."])                        # wherever LlamaIndex takes an LLM

Errors are `mavi_core`'s (`MaviError` and its subclasses), raised unchanged.
"""

from typing import TYPE_CHECKING

from mavi_core._extras import lazy_exports, missing_extra

try:
    import llama_index.core  # noqa: F401  (the "llamaindex" extra)
except ModuleNotFoundError as error:
    raise missing_extra(
        error,
        package="llamaindex_mavi",
        framework="LlamaIndex (llama-index-core)",
        root="llama_index",
        extra="llamaindex",
    ) from error

from ._messages import messages_to_chat, messages_to_request, video_block
from .chat_engine import MaviChatEngine
from .events import MaviRateLimitWaitEvent
from .llm import MAVI_CONTEXT_WINDOW, MaviLLM
from .query_engine import (
    DEFAULT_TOOL_DESCRIPTION,
    DEFAULT_TOOL_NAME,
    MaviQueryBundle,
    MaviQueryEngine,
)

if TYPE_CHECKING:
    from .readers import MaviTranscriptReader
    from .retriever import MaviVideoRetriever
    from .vlm import MaviVLM

__all__ = [
    "DEFAULT_TOOL_DESCRIPTION",
    "DEFAULT_TOOL_NAME",
    "MAVI_CONTEXT_WINDOW",
    "MaviChatEngine",
    "MaviLLM",
    "MaviQueryBundle",
    "MaviQueryEngine",
    "MaviRateLimitWaitEvent",
    "MaviTranscriptReader",
    "MaviVLM",
    "MaviVideoRetriever",
    "messages_to_chat",
    "messages_to_request",
    "video_block",
]

_LAZY: dict[str, str] = {
    "MaviTranscriptReader": "readers",
    "MaviVideoRetriever": "retriever",
    "MaviVLM": "vlm",
}
"""Components whose modules (and the parts of mavi_core they need) load on first use."""

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
