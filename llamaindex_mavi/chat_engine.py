"""`MaviChatEngine`: a multi-turn conversation about videos, remembered by a LlamaIndex memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    ChatResponse,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    VideoBlock,
)
from llama_index.core.callbacks import CallbackManager, trace_method
from llama_index.core.chat_engine.types import (
    AgentChatResponse,
    BaseChatEngine,
    StreamingAgentChatResponse,
)
from llama_index.core.memory import BaseMemory, ChatMemoryBuffer
from llama_index.core.settings import Settings
from llama_index.core.types import Thread
from llama_index_instrumentation import get_dispatcher
from pydantic import SecretStr

from mavi_core import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ChatPrompt,
    Role,
    conversation_to_chat,
    normalize_video_nos,
)

from ._clients import MaviConnection
from ._observe import MaviCall

if TYPE_CHECKING:
    import httpx

    from mavi_core import AsyncMaviClient, MaviClient

__all__ = ["MaviChatEngine"]

dispatcher = get_dispatcher(__name__)

_ROLES: dict[MessageRole, Role] = {
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "system",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.CHATBOT: "assistant",
    MessageRole.MODEL: "assistant",
}
_MEDIA_BLOCKS = (ImageBlock, AudioBlock, VideoBlock, DocumentBlock)


def messages_to_chat(messages: Iterable[ChatMessage]) -> ChatPrompt:
    """LlamaIndex messages to MAVI's `message` and `history`, by `mavi_core`'s shared rules.

    Raises `ValueError` for tool / function messages and image, audio, video or document blocks:
    MAVI chat takes text turns; the videos are named by `video_nos`.
    """

    def pairs() -> Iterator[tuple[Role, str]]:
        for message in messages:
            role = _ROLES.get(message.role)
            if role is None:
                raise ValueError(
                    f"MAVI chat has no {message.role.value!r} turns: keep only system, user and "
                    "assistant messages in the chat history."
                )
            for block in message.blocks:
                if isinstance(block, _MEDIA_BLOCKS):
                    raise ValueError(
                        f"MAVI chat takes text only, not a {type(block).__name__}: name the "
                        "videos with video_nos."
                    )
            yield role, message.content or ""

    return conversation_to_chat(pairs())


class MaviChatEngine(MaviConnection, BaseChatEngine):
    """Chat with MAVI about videos over several turns; the memory holds the conversation.

    >>> chat = MaviChatEngine(video_nos=["VI123"], system_prompt="Answer briefly.")
    >>> print(chat.chat("Who is in the video?"))               # doctest: +SKIP
    >>> print(chat.chat("What do they do next?"))              # earlier turns sent as history

    MAVI keeps no session, so each request sends the conversation: the memory's messages and the
    new one become `message` and `history` (`{user, robot}` turns) through
    `mavi_core.conversation_to_chat`; the system prompt goes in front of the message.

    Args:
        video_nos: The videos the conversation is about.
        memory: Where the conversation lives; default `ChatMemoryBuffer.from_defaults(...)`.
        chat_history: Messages to start the default memory with.
        system_prompt: Instructions sent in front of every message (not stored in memory).
        api_key, base_url, timeout, max_retries, callback_manager, client, async_client: as for
            `MaviQueryEngine`.

    `chat()` / `achat()` return an `AgentChatResponse`; `stream_chat()` / `astream_chat()` a
    `StreamingAgentChatResponse` (iterate `response_gen` / `async_response_gen()`); the answer
    enters the memory when its stream is exhausted. A request that fails leaves the memory as
    it was. Errors are `mavi_core`'s, unchanged (see `MaviQueryEngine`); a history the mapping
    cannot send raises `ValueError`.
    """

    def __init__(
        self,
        video_nos: Sequence[str],
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        memory: BaseMemory | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        system_prompt: str | None = None,
        callback_manager: CallbackManager | None = None,
        client: MaviClient | None = None,
        async_client: AsyncMaviClient | None = None,
    ) -> None:
        if memory is not None and chat_history is not None:
            raise ValueError("Pass either memory or chat_history, not both.")
        self.video_nos: list[str] = normalize_video_nos(video_nos)
        self.system_prompt = system_prompt
        self.callback_manager = callback_manager or Settings.callback_manager
        self._memory = memory or ChatMemoryBuffer.from_defaults(
            chat_history=list(chat_history) if chat_history is not None else None
        )
        self._connect(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            client=client,
            async_client=async_client,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(video_nos={self.video_nos!r}, base_url={self.base_url!r})"

    @property
    def memory(self) -> BaseMemory:
        return self._memory

    @property
    def chat_history(self) -> list[ChatMessage]:
        """Every message in the memory, oldest first."""
        return self._memory.get_all()

    def reset(self) -> None:
        """Forget the conversation."""
        self._memory.reset()

    @dispatcher.span
    @trace_method("chat")
    def chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> AgentChatResponse:
        if chat_history is not None:
            self._memory.set(chat_history)
        user_message, messages, prompt = self._prepare(message, self._memory.get())
        call = self._call(messages, prompt)
        with call.starting():
            answer = self._clients.sync().chat(self.video_nos, prompt.message, prompt.history)
        call.end(answer.text)
        self._memory.put(user_message)
        self._memory.put(ChatMessage(role=MessageRole.ASSISTANT, content=answer.text))
        return AgentChatResponse(response=answer.text, metadata=self._metadata())

    @dispatcher.span
    @trace_method("chat")
    async def achat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> AgentChatResponse:
        if chat_history is not None:
            await self._memory.aset(chat_history)
        user_message, messages, prompt = self._prepare(message, await self._memory.aget())
        call = self._call(messages, prompt)
        with call.starting():
            answer = await self._clients.async_().chat(
                self.video_nos, prompt.message, prompt.history
            )
        call.end(answer.text)
        await self._memory.aput(user_message)
        await self._memory.aput(ChatMessage(role=MessageRole.ASSISTANT, content=answer.text))
        return AgentChatResponse(response=answer.text, metadata=self._metadata())

    @dispatcher.span
    @trace_method("chat")
    def stream_chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> StreamingAgentChatResponse:
        if chat_history is not None:
            self._memory.set(chat_history)
        user_message, messages, prompt = self._prepare(message, self._memory.get())
        call = self._call(messages, prompt)
        stream = self._clients.sync().stream_chat(self.video_nos, prompt.message, prompt.history)
        with call.starting():
            first = next(stream, None)  # sends the request; early failures raise here
        self._memory.put(user_message)
        response = StreamingAgentChatResponse(
            chat_stream=_chat_responses(call.stream(first, stream))
        )
        # As SimpleChatEngine does: a thread drains the stream into the response's queue and
        # puts the answer into memory when the stream ends.
        thread = Thread(target=response.write_response_to_history, args=(self._memory,))
        response.write_response_to_history_thread = thread
        thread.start()
        return response

    @dispatcher.span
    @trace_method("chat")
    async def astream_chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> StreamingAgentChatResponse:
        if chat_history is not None:
            await self._memory.aset(chat_history)
        user_message, messages, prompt = self._prepare(message, await self._memory.aget())
        call = self._call(messages, prompt)
        stream = self._clients.async_().stream_chat(self.video_nos, prompt.message, prompt.history)
        with call.starting():
            first = await anext(stream, None)  # sends the request; early failures raise here
        await self._memory.aput(user_message)
        response = StreamingAgentChatResponse(
            achat_stream=_achat_responses(call.astream(first, stream))
        )
        response.awrite_response_to_history_task = asyncio.create_task(
            response.awrite_response_to_history(self._memory)
        )
        return response

    def _prepare(
        self, message: str, history: list[ChatMessage]
    ) -> tuple[ChatMessage, list[ChatMessage], ChatPrompt]:
        """The new user message, every message sent, and their MAVI form."""
        user_message = ChatMessage(role=MessageRole.USER, content=message)
        system = (
            [ChatMessage(role=MessageRole.SYSTEM, content=self.system_prompt)]
            if self.system_prompt
            else []
        )
        messages = [*system, *history, user_message]
        return user_message, messages, messages_to_chat(messages)

    def _call(self, messages: list[ChatMessage], prompt: ChatPrompt) -> MaviCall:
        return MaviCall(
            self.callback_manager,
            prompt=prompt.message,
            messages=messages,
            model_dict={
                "class_name": type(self).__name__,
                "base_url": self.base_url,
                "video_nos": self.video_nos,
            },
            additional_kwargs={
                "video_nos": self.video_nos,
                "history": [turn.to_dict() for turn in prompt.history],
            },
        )

    def _metadata(self) -> dict[str, Any]:
        return {"video_nos": list(self.video_nos)}


def _chat_responses(deltas: Iterator[str]) -> Generator[ChatResponse, None, None]:
    """Deltas as the `ChatResponse`s that `StreamingAgentChatResponse` consumes."""
    text = ""
    for delta in deltas:
        text += delta
        yield _chat_response(text, delta)
    if not text:
        yield _chat_response("", "")  # so an empty answer still enters the memory


async def _achat_responses(deltas: AsyncIterator[str]) -> AsyncGenerator[ChatResponse, None]:
    text = ""
    async for delta in deltas:
        text += delta
        yield _chat_response(text, delta)
    if not text:
        yield _chat_response("", "")


def _chat_response(text: str, delta: str) -> ChatResponse:
    return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta)
