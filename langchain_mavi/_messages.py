"""LangChain messages to one MAVI chat request: pure, no I/O.

Messages become (role, text) pairs plus the videos their video blocks name; the rule that turns
pairs into `message` and `history` lives once in `mavi_core._adapters`, and the v1.2 session rule
once in `mavi_core._adapters.continue_conversation` (docs/errors-and-wire.md, "Conversations";
docs/v1.2.md, "Sessions"). Here: `SystemMessage` is "system", `HumanMessage` "user",
`AIMessage` "assistant" (a `ChatMessage` by its role), and an AI message's session is its
`response_metadata["session_id"]`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)

from mavi_core import ChatTurn, MaviValidationError
from mavi_core._adapters import (
    Role,
    SessionMessage,
    continue_conversation,
    conversation_to_chat,
    resolve_video_nos,
)

__all__ = [
    "MaviChatRequest",
    "messages_to_conversation",
    "messages_to_request",
    "session_of",
]

_CHAT_ROLES: Mapping[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
}
# Blocks that carry media MAVI cannot take: fail loudly rather than drop what the user sent.
_UNSUPPORTED_MEDIA = frozenset(
    {
        "image",
        "image_url",
        "input_image",
        "audio",
        "input_audio",
        "file",
        "input_file",
        "document",
        "text-plain",
        "pdf",
    }
)
# Parts of earlier AI turns that are not conversation text: leave them out of `robot`.
_NOT_TEXT = frozenset(
    {
        "reasoning",
        "thinking",
        "redacted_thinking",
        "tool_call",
        "tool_call_chunk",
        "invalid_tool_call",
        "tool_use",
        "function_call",
        "server_tool_call",
        "server_tool_call_chunk",
        "server_tool_result",
        "server_tool_use",
        "web_search_tool_result",
        "refusal",
    }
)


@dataclass(frozen=True, slots=True)
class MaviChatRequest:
    """Everything one chat request sends: the videos, the outgoing message and earlier turns."""

    video_nos: list[str]
    message: str
    history: list[ChatTurn]
    session_id: str | None = None
    """v1.2: the session this request continues (the history is then the service's)."""


def _role_of(message: BaseMessage) -> Role:
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, HumanMessage):
        return "user"
    if isinstance(message, AIMessage):
        return "assistant"
    if isinstance(message, ChatMessage):
        role = _CHAT_ROLES.get(message.role.lower())
        if role is None:
            raise MaviValidationError(
                f"ChatMessage role {message.role!r} is not supported by ChatMavi: use 'system', "
                "'user' or 'assistant'."
            )
        return role
    raise MaviValidationError(
        f"ChatMavi cannot send a {type(message).__name__} ({message.type!r}): the MAVI video chat "
        "takes system, human and AI messages only and has no tool calling. To let an agent ask "
        "about videos, give it MaviVideoChatTool and a tool-calling model."
    )


def _video_no_of(block: Mapping[str, Any]) -> str:
    video_no = block.get("file_id")
    if video_no is None and block.get("source_type") == "id":
        video_no = block.get("id")  # the v0 form {"type": "video", "source_type": "id", "id": ...}
    if not isinstance(video_no, str) or not video_no.strip():
        raise MaviValidationError(
            "A video content block needs file_id set to a MAVI video number, e.g. "
            "{'type': 'video', 'file_id': 'VI123...'}; URLs and base64 video are not supported: "
            "upload the video to MAVI first and pass its videoNo."
        )
    return video_no


def _text_and_videos(content: str | list[str | dict[str, Any]]) -> tuple[str, list[str]]:
    if isinstance(content, str):
        return content, []
    texts: list[str] = []
    videos: list[str] = []
    for block in content:
        if isinstance(block, str):
            texts.append(block)
            continue
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "video":
            videos.append(_video_no_of(block))
        elif kind in _NOT_TEXT:
            continue
        elif kind in _UNSUPPORTED_MEDIA:
            raise MaviValidationError(
                f"ChatMavi cannot send a {kind!r} content block: MAVI chats about videos only. "
                "Send text, and name videos with {'type': 'video', 'file_id': '<videoNo>'}."
            )
        else:
            raise MaviValidationError(
                f"ChatMavi does not understand a {kind!r} content block: send text blocks and "
                "video blocks {'type': 'video', 'file_id': '<videoNo>'}."
            )
    return "".join(texts), videos


def _conversation(messages: Iterable[BaseMessage]) -> tuple[list[SessionMessage], list[str]]:
    """Each message as (role, text, session id), and the videos named in their video blocks."""
    conversation: list[SessionMessage] = []
    videos: list[str] = []
    for message in messages:
        role = _role_of(message)
        text, message_videos = _text_and_videos(message.content)
        videos.extend(message_videos)
        if role == "user" and message_videos and not text:
            continue  # a message that only points at videos adds no words
        conversation.append((role, text, session_of(message)))
    return conversation, videos


def messages_to_conversation(
    messages: Iterable[BaseMessage],
) -> tuple[list[tuple[Role, str]], list[str]]:
    """The (role, text) pairs of `messages` and the videos named in their video blocks."""
    conversation, videos = _conversation(messages)
    return [(role, text) for role, text, _ in conversation], videos


_NO_VIDEO: Final = (
    "No video to ask about: pass video_nos=['VI...'] to ChatMavi(...) or to "
    "invoke(..., video_nos=[...]), or add a {'type': 'video', 'file_id': '<videoNo>'} "
    "content block. In a RAG chain, pipe the retriever through "
    "langchain_mavi.format_video_context into a MessagesPlaceholder: a string {context} "
    "keeps the moments' text and drops their videos."
)


def session_of(message: BaseMessage) -> str | None:
    """The v1.2 session an AI message's answer belongs to, if it says."""
    if _role_of(message) != "assistant":
        return None
    session_id = message.response_metadata.get("session_id")
    return str(session_id) if session_id else None


def messages_to_request(
    messages: Iterable[BaseMessage],
    video_nos: Sequence[str] | None,
    default_video_nos: Sequence[str],
    *,
    continue_session: bool = False,
) -> MaviChatRequest:
    """The whole mapping of docs/errors-and-wire.md; raises `ValueError` saying what to change.

    With `continue_session` (the v1.2 dialect), the session rule decides what is sent
    (`mavi_core._adapters.continue_conversation`); else every message is, as in v1.0.
    """
    conversation, block_videos = _conversation(messages)
    videos = resolve_video_nos(video_nos, default_video_nos, block_videos, empty=_NO_VIDEO)
    if not continue_session:
        prompt = conversation_to_chat((role, text) for role, text, _ in conversation)
        return MaviChatRequest(videos, prompt.message, prompt.history)
    prompt, session_id = continue_conversation(conversation)
    return MaviChatRequest(videos, prompt.message, prompt.history, session_id=session_id)
