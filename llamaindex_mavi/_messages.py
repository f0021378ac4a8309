"""LlamaIndex chat messages to one MAVI chat request: pure, no I/O.

Messages become (role, text) pairs plus the videos their video blocks name; the rule that turns
pairs into `message` and `history` lives once in `mavi_core._adapters`, and the v1.2 session rule
once in `mavi_core._adapters.continue_conversation` (docs/errors-and-wire.md, "Conversations";
docs/v1.2.md, "Sessions"). Here: system and developer are "system", user "user", assistant
(chatbot, model) "assistant"; text blocks are joined by a newline, as `ChatMessage.content`
joins them; `VideoBlock(url="mavi://<videoNo>")` names a video; an assistant message's session
is its `additional_kwargs["session_id"]`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from llama_index.core.base.llms.types import (
    CachePoint,
    ChatMessage,
    CitationBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)

from mavi_core import MaviValidationError
from mavi_core._adapters import (
    ChatPrompt,
    Role,
    SessionMessage,
    conversation_to_chat,
    latest_session,
)

__all__ = [
    "NO_VIDEO",
    "SESSION_KEY",
    "VIDEO_URL_SCHEME",
    "conversation_of",
    "messages_to_chat",
    "messages_to_request",
    "session_of",
    "session_to_continue",
    "video_block",
]

VIDEO_URL_SCHEME = "mavi://"
"""`VideoBlock(url=VIDEO_URL_SCHEME + video_no)` names a MAVI video in a chat message."""
SESSION_KEY = "session_id"
"""The `ChatMessage.additional_kwargs` key of a v1.2 answer's session id."""

_ROLES: Mapping[MessageRole, Role] = {
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "system",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.CHATBOT: "assistant",
    MessageRole.MODEL: "assistant",
}
# Parts of earlier turns that are not conversation text: leave them out.
_NOT_TEXT = (ThinkingBlock, ToolCallBlock, CitationBlock, CachePoint)


def video_block(video_no: str) -> VideoBlock:
    """The block that names the MAVI video `video_no` in a `ChatMessage`."""
    return VideoBlock(url=VIDEO_URL_SCHEME + video_no)


def _video_no_of(block: VideoBlock) -> str:
    url = str(block.url) if block.url is not None else ""
    video_no = url.removeprefix(VIDEO_URL_SCHEME).rstrip("/")
    if block.video is not None or block.path is not None or video_no == url or not video_no:
        raise MaviValidationError(
            "A VideoBlock sent to MAVI must name a MAVI video: VideoBlock(url='mavi://<videoNo>') "
            "(or llamaindex_mavi.video_block('VI123...')); video bytes, file paths "
            "and other URLs are not supported: upload the video to MAVI first and use its videoNo."
        )
    return video_no


def _text_of(message: ChatMessage, role: MessageRole, videos: list[str]) -> str | None:
    """The message's text (None: it only names videos), adding the videos it names."""
    texts: list[str] = []
    named_videos = False
    for block in message.blocks:
        if isinstance(block, TextBlock):
            texts.append(block.text)
        elif isinstance(block, VideoBlock):
            videos.append(_video_no_of(block))
            named_videos = True
        elif not isinstance(block, _NOT_TEXT):
            raise MaviValidationError(
                f"MAVI chat cannot send a {type(block).__name__} ({role.value} message): it takes "
                "text, and videos named by video_nos or VideoBlock(url='mavi://<videoNo>')."
            )
    if named_videos and not texts and role == MessageRole.USER:
        return None
    return "\n".join(texts)


def session_of(message: ChatMessage) -> str | None:
    """The v1.2 session an assistant message's answer belongs to, if it says."""
    if _ROLES.get(message.role) != "assistant":
        return None
    session = message.additional_kwargs.get(SESSION_KEY)
    return str(session) if session else None


def conversation_of(
    messages: Iterable[ChatMessage],
) -> tuple[list[SessionMessage], list[str]]:
    """Each message as (role, text, session id), and the videos their blocks name; a user
    message that only names videos adds no text. Raises `ValueError` for tool turns and
    unsupported blocks."""
    videos: list[str] = []
    conversation: list[SessionMessage] = []
    for message in messages:
        role = _ROLES.get(message.role)
        if role is None:
            raise MaviValidationError(
                f"MAVI chat has no {message.role.value!r} turns: keep only system, user and "
                "assistant messages in the chat history."
            )
        text = _text_of(message, message.role, videos)
        if text is not None:
            conversation.append((role, text, session_of(message)))
    return conversation, videos


def messages_to_request(messages: Iterable[ChatMessage]) -> tuple[ChatPrompt, list[str]]:
    """MAVI's `message` and `history` for `messages` (the v1.0 mapping), and the videos their
    blocks name.

    Raises `ValueError` saying what to change (tool turns, unsupported blocks, a conversation
    that does not end with a user message).
    """
    conversation, videos = conversation_of(messages)
    return conversation_to_chat((role, text) for role, text, _ in conversation), videos


def session_to_continue(messages: Sequence[ChatMessage]) -> str | None:
    """The v1.2 session the next request after `messages` continues (the latest assistant
    message's that carries one), or None."""
    return latest_session([session_of(message) for message in messages])[0]


def messages_to_chat(messages: Iterable[ChatMessage]) -> ChatPrompt:
    """MAVI's `message` and `history` for `messages` (see `messages_to_request`).

    Video blocks add no text here; `MaviLLM` also sends the videos they name.
    """
    return messages_to_request(messages)[0]


NO_VIDEO: Final = (
    "video_nos is empty: no video to ask about. Pass video_nos=['VI...'] to MaviLLM(...) "
    "or to the call, or add VideoBlock(url='mavi://<videoNo>') to a message."
)
