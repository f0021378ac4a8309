"""`MaviChatEngine`: a multi-turn conversation about videos, remembered by a LlamaIndex memory."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole
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

from mavi_core import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, normalize_video_nos

from .llm import LLMConnection, MaviLLM, aread_ahead, read_ahead

if TYPE_CHECKING:
    import httpx

    from mavi_core import AsyncMaviClient, MaviClient, RateLimit

__all__ = ["MaviChatEngine"]

dispatcher = get_dispatcher(__name__)


class MaviChatEngine(LLMConnection, BaseChatEngine):
    """Chat with MAVI about videos over several turns; the memory holds the conversation.

    >>> chat = MaviChatEngine(video_nos=["VI123"], system_prompt="Answer briefly.")
    >>> print(chat.chat("Who is in the video?"))               # doctest: +SKIP
    >>> print(chat.chat("What do they do next?"))              # earlier turns sent as history

    MAVI keeps no session, so each request sends the conversation: the system prompt, the
    memory's messages and the new one go to `MaviLLM.chat` (or `stream_chat`), which sends them
    as `message` and `history` (`{user, robot}` turns); the system prompt goes in front of the
    message. Video blocks in the memory's messages add their videos, as with `MaviLLM`.

    Args:
        video_nos: The videos the conversation is about (default with `llm`: the LLM's).
        memory: Where the conversation lives; default `ChatMemoryBuffer.from_defaults(...)`.
        chat_history: Messages to start the default memory with.
        system_prompt: Instructions sent in front of every message (not stored in memory).
        api_key, base_url, timeout, max_retries, default_headers, callback_manager, client,
            async_client, llm: as for `MaviQueryEngine`.

    `chat()` / `achat()` return an `AgentChatResponse`; `stream_chat()` / `astream_chat()` a
    `StreamingAgentChatResponse` (iterate `response_gen` / `async_response_gen()`); the answer
    enters the memory when its stream is exhausted. A request that fails before its first delta
    leaves the memory as it was: the question enters it only with the answer (or, when
    streaming, once the first delta has arrived). Errors are `mavi_core`'s, unchanged (see
    `MaviQueryEngine`); a history the mapping cannot send raises `ValueError`.
    """

    def __init__(
        self,
        video_nos: Sequence[str] | None = None,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        memory: BaseMemory | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        system_prompt: str | None = None,
        callback_manager: CallbackManager | None = None,
        client: MaviClient | None = None,
        async_client: AsyncMaviClient | None = None,
        llm: MaviLLM | None = None,
        rate_limit: RateLimit | str | None = "auto",
    ) -> None:
        if memory is not None and chat_history is not None:
            raise ValueError("Pass either memory or chat_history, not both.")
        self.video_nos: list[str] = normalize_video_nos(
            video_nos if video_nos is not None or llm is None else llm.video_nos
        )
        self.system_prompt = system_prompt
        self.callback_manager = callback_manager or Settings.callback_manager
        self._memory = memory or ChatMemoryBuffer.from_defaults(
            chat_history=list(chat_history) if chat_history is not None else None
        )
        self._use_llm(
            llm,
            self.callback_manager,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            client=client,
            async_client=async_client,
            rate_limit=rate_limit,
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
        question = _user(message)
        answer = self._llm.chat(self._messages(question, self._memory.get()), **self._options())
        self._memory.put(question)
        self._memory.put(answer.message)
        return AgentChatResponse(response=answer.message.content or "", metadata=self._metadata())

    @dispatcher.span
    @trace_method("chat")
    async def achat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> AgentChatResponse:
        if chat_history is not None:
            await self._memory.aset(chat_history)
        question = _user(message)
        messages = self._messages(question, await self._memory.aget())
        answer = await self._llm.achat(messages, **self._options())
        await self._memory.aput(question)
        await self._memory.aput(answer.message)
        return AgentChatResponse(response=answer.message.content or "", metadata=self._metadata())

    @dispatcher.span
    @trace_method("chat")
    def stream_chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> StreamingAgentChatResponse:
        if chat_history is not None:
            self._memory.set(chat_history)
        question = _user(message)
        messages = self._messages(question, self._memory.get())
        stream = read_ahead(self._llm.stream_chat(messages, **self._options()))
        self._memory.put(question)
        response = StreamingAgentChatResponse(chat_stream=stream)
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
        question = _user(message)
        messages = self._messages(question, await self._memory.aget())
        stream = await aread_ahead(await self._llm.astream_chat(messages, **self._options()))
        await self._memory.aput(question)
        response = StreamingAgentChatResponse(achat_stream=stream)
        response.awrite_response_to_history_task = asyncio.create_task(
            response.awrite_response_to_history(self._memory)
        )
        return response

    def _messages(self, question: ChatMessage, history: list[ChatMessage]) -> list[ChatMessage]:
        """Every message sent: the system prompt, the remembered turns and the question."""
        if not self.system_prompt:
            return [*history, question]
        return [
            ChatMessage(role=MessageRole.SYSTEM, content=self.system_prompt),
            *history,
            question,
        ]

    def _options(self) -> dict[str, Any]:
        """The per-call keywords for the LLM: this conversation's videos."""
        return {"video_nos": self.video_nos}

    def _metadata(self) -> dict[str, Any]:
        return {"video_nos": list(self.video_nos)}


def _user(message: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.USER, content=message)
