"""llamaindex_mavi: Memories.ai MAVI video chat as LlamaIndex query and chat engines.

    from llamaindex_mavi import MaviQueryEngine, MaviChatEngine

    engine = MaviQueryEngine(video_nos=["VI..."])           # MAVI_API_KEY from the environment
    print(engine.query("What happens in the video?"))
    tool = engine.as_tool(name="kitchen_video", description="Answers questions about ...")

    chat = MaviChatEngine(video_nos=["VI..."])
    chat.chat("Who is in the video?")
    chat.chat("What do they do next?")                       # earlier turns go as history

    retriever = MaviVideoRetriever()                          # matching moments as nodes

Errors are `mavi_core`'s (`MaviError` and its subclasses), raised unchanged.
"""

from ._messages import messages_to_chat, video_block
from .chat_engine import MaviChatEngine
from .llm import MAVI_CONTEXT_WINDOW, MaviLLM
from .query_engine import (
    DEFAULT_TOOL_DESCRIPTION,
    DEFAULT_TOOL_NAME,
    MaviQueryBundle,
    MaviQueryEngine,
)
from .retriever import MaviVideoRetriever

__all__ = [
    "DEFAULT_TOOL_DESCRIPTION",
    "DEFAULT_TOOL_NAME",
    "MAVI_CONTEXT_WINDOW",
    "MaviChatEngine",
    "MaviLLM",
    "MaviQueryBundle",
    "MaviQueryEngine",
    "MaviVideoRetriever",
    "messages_to_chat",
    "video_block",
]
