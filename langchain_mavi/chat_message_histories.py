"""`MaviChatMessageHistory`: a conversation the MAVI service keeps (a v1.2 session), as a
LangChain chat message history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)
from pydantic import Field, field_validator

from mavi_core import MaviValidationError, SessionDetail
from mavi_core._v12 import normalize_session_id

from ._connection import MaviNamespaced, check_video_nos
from ._messages import session_of
from .chat_models import DEFAULT_MODEL_NAME, answer_message
from .errors import translate_errors

__all__ = ["MaviChatMessageHistory"]


class MaviChatMessageHistory(MaviNamespaced, BaseChatMessageHistory):
    """The messages of a MAVI v1.2 chat session, read from the service, which keeps them.

    ```python
    from langchain_mavi import ChatMavi, MaviChatMessageHistory

    history = MaviChatMessageHistory(session_id="606120397607260160")
    history.messages  # [HumanMessage, AIMessage, ...]: each answer as ChatMavi returned it
    ChatMavi(video_nos=["VI..."], api_version="v1.2").invoke(
        [*history.messages, ("human", "What happens next?")]
    )  # continues the session
    ```

    `messages` asks the service each time (`get_session_detail`): user messages become
    `HumanMessage`, each answer the `AIMessage` `ChatMavi` returned for it (`session_id` and
    `refs` in `response_metadata`, thinking as reasoning, citations with `output_version="v1"`),
    so a conversation continues after a restart, in another process, with
    `RunnableWithMessageHistory`. `session_id=None` is a conversation not started yet: no
    messages until a turn is added.

    The service stores each turn itself when it answers, so `add_messages` writes nothing: it
    takes a turn `ChatMavi` answered in this session (its AI message carries the session id;
    without a session yet, the history adopts the answer's), and refuses messages the service
    did not answer in it (`ValueError`): they would be lost. `clear()` forgets the session
    here (the next turn starts a new one); the service keeps it.

    `api_version` defaults to "v1.2" (sessions exist there only); the other connection
    options are `ChatMavi`'s. A session opened under a `unique_id` is read under that one.
    """

    session_id: str | None = None
    """The session (the `session_id` of an answer's `response_metadata`); None: none yet."""
    video_nos: list[str] = Field(default_factory=list)
    """The videos of the conversation, put in each answer's `response_metadata["video_nos"]`
    as `ChatMavi` does (the service does not say them)."""
    model_name: str = Field(default=DEFAULT_MODEL_NAME, alias="model")
    """As `ChatMavi.model_name`: the answers' `response_metadata["model_name"]`."""
    output_version: str = "v0"
    """As `ChatMavi.output_version`: "v1" gives the answers standard content blocks."""
    api_version: str | None = "v1.2"
    # Read from the service, never stored: not a pydantic field (the base class annotates it).
    messages: ClassVar[list[BaseMessage]]  # type: ignore[misc]

    def __init__(self, session_id: str | int | None = None, /, **kwargs: Any) -> None:
        if session_id is not None:
            kwargs["session_id"] = session_id
        super().__init__(**kwargs)

    @field_validator("session_id", mode="before")
    @classmethod
    def _check_session_id(cls, value: Any) -> Any:
        return normalize_session_id(value)

    @field_validator("video_nos", mode="before")
    @classmethod
    def _check_video_nos(cls, value: Any) -> Any:
        return [] if value is None else check_video_nos(value)

    @property  # type: ignore[no-redef]
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The session's messages, oldest first, as the service keeps them now."""
        if self.session_id is None:
            return []
        with translate_errors():
            detail = self._get_client().get_session_detail(
                self.session_id, unique_id=self.unique_id
            )
        return self._restored(detail)

    async def aget_messages(self) -> list[BaseMessage]:
        if self.session_id is None:
            return []
        with translate_errors():
            detail = await self._get_async_client().get_session_detail(
                self.session_id, unique_id=self.unique_id
            )
        return self._restored(detail)

    def _restored(self, detail: SessionDetail) -> list[BaseMessage]:
        return [
            answer_message(
                message.as_answer(self.video_nos),
                model_name=self.model_name,
                output_version=self.output_version,
            )
            if message.role == "assistant"
            else _message(message.role, message.content)
            for message in detail.messages
        ]

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Take a turn the service answered (and stored) in this session; see the class."""
        # isinstance, not m.type == "ai": a streamed answer is an AIMessageChunk.
        sessions = {session_of(m) for m in messages if isinstance(m, AIMessage)} - {None}
        if len(sessions) == 1 and self.session_id in (None, *sessions):
            self.session_id = sessions.pop()
            return
        raise MaviValidationError(
            "MaviChatMessageHistory cannot store messages: the MAVI service keeps a session's "
            "turns itself, as it answers them. Add the turn ChatMavi(api_version='v1.2') "
            f"answered in session {self.session_id or '(none yet)'}: its AI message carries "
            "response_metadata['session_id']; keep other messages in a local history "
            "(InMemoryChatMessageHistory)."
        )

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        self.add_messages(messages)  # nothing is sent: no I/O to wait for

    def clear(self) -> None:
        """Forget the session here: the next turn starts a new one (the service keeps it)."""
        self.session_id = None

    async def aclear(self) -> None:
        self.clear()


def _message(role: str, content: str) -> BaseMessage:
    if role == "user":
        return HumanMessage(content)
    if role == "system":
        return SystemMessage(content)
    return ChatMessage(content=content, role=role)
