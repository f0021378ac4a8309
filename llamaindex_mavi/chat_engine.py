"""`MaviChatEngine`: a multi-turn conversation about videos, remembered by a LlamaIndex memory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Generator, Iterator, Sequence
from queue import Empty
from typing import TYPE_CHECKING, Any, Self, Unpack, cast

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from llama_index.core.callbacks import CallbackManager
from llama_index.core.chat_engine.types import (
    AgentChatResponse,
    BaseChatEngine,
    StreamingAgentChatResponse,
)
from llama_index.core.memory import BaseMemory, ChatMemoryBuffer
from llama_index.core.schema import NodeWithScore
from llama_index.core.settings import Settings
from llama_index.core.types import Thread
from llama_index_instrumentation import get_dispatcher

from mavi_core import ChatAnswer, MaviValidationError
from mavi_core._adapters import ClosedAfter, normalize_video_nos

from ._callbacks import traced
from ._clients import ConnectionOptions
from ._messages import SESSION_KEY, session_to_continue
from ._refs import Sources, ref_nodes
from ._spans import presigned
from .llm import LLMConnection, MaviLLM, aread_ahead, read_ahead

if TYPE_CHECKING:
    pass

__all__ = ["MaviChatEngine"]

dispatcher = get_dispatcher(__name__)


@presigned
class MaviChatEngine(LLMConnection, BaseChatEngine):
    """Chat with MAVI about videos over several turns; the memory holds the conversation
    (docs/llamaindex-chat-engine.md).

    >>> chat = MaviChatEngine(video_nos=["VI123"], system_prompt="Answer briefly.")
    >>> print(chat.chat("Who is in the video?"))               # doctest: +SKIP

    Each turn asks `MaviLLM` with the system prompt, the memory's messages and the new one (v1.0
    sends them as history; v1.2 continues the session of the last answer, `session_id`). A turn
    enters the memory whole once its answer is complete, so a failed request or a broken stream
    leaves memory and session as they were. `memory` or `chat_history` start the conversation;
    `llm` and the connection options are as for `MaviQueryEngine`.
    `MaviChatEngine.from_session(session_id, ...)` (v1.2) restores a conversation the service
    keeps, after a restart or in another process (docs/llamaindex-chat-engine.md).
    """

    def __init__(
        self,
        video_nos: Sequence[str] | None = None,
        *,
        memory: BaseMemory | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        system_prompt: str | None = None,
        callback_manager: CallbackManager | None = None,
        llm: MaviLLM | None = None,
        **connection: Unpack[ConnectionOptions],
    ) -> None:
        if memory is not None and chat_history is not None:
            raise MaviValidationError("Pass either memory or chat_history, not both.")
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
            connection,
        )

    @classmethod
    def from_session(
        cls, session_id: str | int, video_nos: Sequence[str] | None = None, **options: Any
    ) -> MaviChatEngine:
        """A conversation restored from a v1.2 session the service keeps (after a restart,
        in another process): `chat_history` is the session's messages, each answer exactly
        as `MaviLLM.chat` returned it, so the next turn continues the session. `options`: as
        for the constructor (but `memory` and `chat_history`); `api_version` defaults to
        "v1.2", `unique_id` names the namespace the session was opened in. An unknown
        session is a `MaviInvalidRequestError`."""
        session_id, engine = cls._restoring(session_id, video_nos, options)
        engine._memory.set(engine._llm.session_messages(session_id))  # in the LLM's namespace
        return engine

    @classmethod
    async def afrom_session(
        cls, session_id: str | int, video_nos: Sequence[str] | None = None, **options: Any
    ) -> MaviChatEngine:
        """The async twin of `from_session`."""
        session_id, engine = cls._restoring(session_id, video_nos, options)
        await engine._memory.aset(await engine._llm.asession_messages(session_id))
        return engine

    @classmethod
    def _restoring(
        cls, session_id: str | int, video_nos: Sequence[str] | None, options: dict[str, Any]
    ) -> tuple[str, Self]:
        # The session id first: with the arguments swapped, the error names the list given as
        # session_id, not the session id given as video_nos.
        from mavi_core._v12 import normalize_session_id  # v1.2's module loads on first use

        session = normalize_session_id(session_id)
        if session is None:
            raise MaviValidationError("from_session() needs the session_id a v1.2 answer returned.")
        if "memory" in options or "chat_history" in options:
            raise MaviValidationError(
                "from_session() restores the memory from the session: pass neither memory nor "
                "chat_history."
            )
        if not any(options.get(name) for name in ("llm", "client", "async_client")):
            options.setdefault("api_version", "v1.2")  # sessions exist in v1.2 only
        return session, cls(video_nos, **options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(video_nos={self.video_nos!r}, base_url={self.base_url!r})"

    @property
    def memory(self) -> BaseMemory:
        return self._memory

    @property
    def chat_history(self) -> list[ChatMessage]:
        """Every message in the memory, oldest first."""
        return self._memory.get_all()

    @property
    def session_id(self) -> str | None:
        """The v1.2 session the next turn continues (the last answer's), or None."""
        return session_to_continue(self._memory.get_all())

    def reset(self) -> None:
        """Forget the conversation (and with it the v1.2 session)."""
        self._memory.reset()

    @dispatcher.span
    @traced("chat")
    def chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> AgentChatResponse:
        if chat_history is not None:
            self._memory.set(chat_history)
        question = _user(message)
        answer = self._llm.chat(self._messages(question, self._memory.get()), **self._options())
        self._memory.put(question)
        self._memory.put(answer.message)
        return self._response(answer)

    @dispatcher.span
    @traced("chat")
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
        return self._response(answer)

    @dispatcher.span
    @traced("chat")
    def stream_chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> StreamingAgentChatResponse:
        if chat_history is not None:
            self._memory.set(chat_history)
        question = _user(message)
        messages = self._messages(question, self._memory.get())
        turn = _Turn(self._memory, question)
        stream = read_ahead(self._llm.stream_chat(messages, **self._options()))
        sources = Sources()
        response = _StreamingResponse(
            chat_stream=sources.through(turn.keep(stream), _item), source_nodes=sources.nodes
        )
        # As SimpleChatEngine does: a thread drains the stream into the response's queue and
        # puts the answer into memory when the stream ends (here: the whole turn, see _Turn).
        thread = Thread(target=response.write_response_to_history, args=(turn.memory(),))
        response.write_response_to_history_thread = thread
        thread.start()
        return response

    @dispatcher.span
    @traced("chat")
    async def astream_chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> StreamingAgentChatResponse:
        if chat_history is not None:
            await self._memory.aset(chat_history)
        question = _user(message)
        messages = self._messages(question, await self._memory.aget())
        turn = _Turn(self._memory, question)
        stream = await aread_ahead(await self._llm.astream_chat(messages, **self._options()))
        sources = Sources()
        response = _StreamingResponse(
            achat_stream=sources.athrough(turn.akeep(stream), _item), source_nodes=sources.nodes
        )
        response.awrite_response_to_history_task = asyncio.create_task(
            response.awrite_response_to_history(turn.memory())
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

    def _response(self, answer: ChatResponse) -> AgentChatResponse:
        metadata = self._metadata()
        raw = answer.raw
        nodes: list[NodeWithScore] = []
        if isinstance(raw, ChatAnswer) and raw.session_id is not None:
            metadata[SESSION_KEY] = raw.session_id
            nodes = ref_nodes(raw.refs)
        return AgentChatResponse(
            response=answer.message.content or "", source_nodes=nodes, metadata=metadata
        )


class _Turn:
    """One streamed exchange, entering the memory whole when its stream has ended.

    LlamaIndex's `write_response_to_history` puts the last item's message into the memory after
    replacing its blocks with the stripped text, which would drop the thinking and citation
    blocks a non-streamed turn keeps. So the stream is read through `keep` / `akeep`, which
    copy the complete answer message as the stream ends, and the response writes to `memory()`,
    which puts the question and that copy into the real memory instead of what it is given. A
    stream that breaks never reaches the end: nothing enters the memory, as when `chat` fails.
    """

    __slots__ = ("_answer", "_memory", "_question")

    def __init__(self, memory: BaseMemory, question: ChatMessage) -> None:
        self._memory = memory
        self._question = question
        self._answer: ChatMessage | None = None

    def keep(self, items: Iterator[ChatResponse]) -> Generator[ChatResponse, None, None]:
        item = None
        for item in items:
            yield item
        if item is not None:
            self._answer = item.message.model_copy()

    async def akeep(
        self, items: AsyncGenerator[ChatResponse, None]
    ) -> AsyncGenerator[ChatResponse]:
        item = None
        async with ClosedAfter(items):  # closes the HTTP response when the reader stops early
            async for item in items:
                yield item
            if item is not None:
                self._answer = item.message.model_copy()

    def _exchange(self, written: ChatMessage) -> list[ChatMessage]:
        return [self._question, self._answer if self._answer is not None else written]

    def put(self, message: ChatMessage) -> None:
        for turn_message in self._exchange(message):
            self._memory.put(turn_message)

    async def aput(self, message: ChatMessage) -> None:
        for turn_message in self._exchange(message):
            await self._memory.aput(turn_message)

    def memory(self) -> BaseMemory:
        """What the response writes the answer to (it calls `put` / `aput` only)."""
        return cast("BaseMemory", self)


class _StreamingResponse(StreamingAgentChatResponse):
    """LlamaIndex's streaming response, whose reader hands out every delta that arrived before
    a stream's error, then raises it (docs/errors-and-wire.md, "Nothing lost").

    LlamaIndex's readers check for the writer's error before taking the next delta from the
    queue, so the deltas the writer queued before the error were lost, some or all of them as
    the thread or task happened to run; and the writing thread or task ended with the error
    unhandled ("Exception in thread ..." printed) although the reader raises it."""

    def write_response_to_history(self, memory: BaseMemory, *args: Any, **kwargs: Any) -> None:
        with contextlib.suppress(Exception):  # kept in `exception`: the reader raises it
            super().write_response_to_history(memory, *args, **kwargs)

    async def awrite_response_to_history(
        self, memory: BaseMemory, *args: Any, **kwargs: Any
    ) -> None:
        with contextlib.suppress(Exception):  # kept in `exception`: the reader raises it
            await super().awrite_response_to_history(memory, *args, **kwargs)

    def _recorded(self, delta: str) -> str:
        self.unformatted_response += delta
        return delta

    def _ended(self, handed: bool) -> str | None:
        """Once the writer has ended: its error raised, else the whole answer kept, and returned
        to hand out when no delta was."""
        if self.exception is not None:
            raise self.exception
        self.response = self.unformatted_response.strip()
        return None if handed else self.response

    @property
    def response_gen(self) -> Generator[str, None, None]:
        thread = self.write_response_to_history_thread
        try:
            handed = False
            while True:
                ended = self.is_done or self.exception is not None  # before the last deltas
                try:
                    delta = self.queue.get(block=not ended, timeout=_QUEUE_WAIT)
                except Empty:
                    if ended:
                        break
                    continue
                if delta:
                    handed = True
                    yield self._recorded(delta)
            if (whole := self._ended(handed)) is not None:
                yield whole
        finally:
            if thread is not None:
                thread.join()
                self.write_response_to_history_thread = None

    async def async_response_gen(self) -> AsyncGenerator[str, None]:
        self._ensure_async_setup()
        queue = self.aqueue
        assert queue is not None
        try:
            handed = False
            while True:
                ended = self.is_done or self.exception is not None  # before the last deltas
                try:
                    if ended:
                        delta = queue.get_nowait()
                    else:
                        delta = await asyncio.wait_for(queue.get(), _QUEUE_WAIT)
                except (TimeoutError, asyncio.QueueEmpty):
                    if ended:
                        break
                    continue
                if delta:
                    handed = True
                    yield self._recorded(delta)
            if (whole := self._ended(handed)) is not None:
                yield whole
        finally:
            task = self.awrite_response_to_history_task
            if task is not None:
                await task  # it ended or ends with the stream; it raises nothing
                self.awrite_response_to_history_task = None


_QUEUE_WAIT = 0.05
"""Seconds a reader waits for the next delta before looking whether the writer has ended."""


def _item(item: ChatResponse, silent: bool) -> ChatResponse:
    return item  # thinking and ref items too: agents read their `thinking_delta`


def _user(message: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.USER, content=message)
