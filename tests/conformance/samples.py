"""The documented v1.2 replies (tests/data/wire_samples/v1.2/), what each one means, and every
way the library reads a reply: both clients and every adapter, each reduced to one `Reading`.

A sample is served exactly, byte for byte, by a loopback server (tests/support/rawserver.py):
in one write (several events in one write), or one byte a write.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mavi_core import AsyncMaviClient, ChatAnswer, MaviClient, VideoRef
from tests.support.rawserver import Request, head, raw_server

SAMPLES = Path(__file__).parents[1] / "data" / "wire_samples" / "v1.2"
KEY = "sk-conformance-test-key-0123456789"
VIDEO = "VI606140356924534784"
SESSION = "606120397607260160"  # beyond 2**53: exact only as a string
QUESTION = "what happens at the harbor?"
EVENT_STREAM = "text/event-stream;charset=UTF-8"
JSON_TYPE = "application/json;charset=UTF-8"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def events_of(body: bytes) -> list[Any]:
    """The JSON value of each `data:` event of a stream sample, in order."""
    events = body.decode("utf-8").replace("\r\n", "\n").split("\n\n")
    return [json.loads(event.removeprefix("data:")) for event in events if event.strip()]


Moment = tuple[str, float, float | None]
"""Which video, from when, to when (None: a keyframe, one instant)."""


@dataclass(frozen=True)
class Reading:
    """What one consumer shows of an answer; None where it does not show that part."""

    text: str
    moments: tuple[Moment, ...]
    thinking: tuple[str, ...] | None
    """The titles of the thinking steps."""
    session_id: str | None


@dataclass(frozen=True)
class Meaning:
    """What a sample says, written out by hand from the file."""

    text: str
    moments: tuple[Moment, ...]
    thinking: tuple[str, ...]
    session_id: str = SESSION

    def agrees(self, reading: Reading) -> None:
        assert reading.text == self.text
        assert reading.moments == self.moments
        assert reading.thinking in (None, self.thinking)
        assert reading.session_id == self.session_id


STEP = "Based on selected videos, fetch detailed information"
ANSWER = "A red tugboat leaves the pier at 0:41."
CHAT = Meaning(ANSWER, ((VIDEO, 23.0, None), (VIDEO, 41.0, 63.0)), (STEP,))
CHAT_REFS_IN_THINKINGS = Meaning(ANSWER, ((VIDEO, 41.0, 63.0),), (STEP,))
STREAM = Meaning(ANSWER, ((VIDEO, 23.0, None), (VIDEO, 41.0, 63.0), (VIDEO, 41.0, 47.0)), (STEP,))
ANSWERS = {
    "chat.json": CHAT,
    "chat_refs_in_thinkings.json": CHAT_REFS_IN_THINKINGS,
    "chat_stream.sse": STREAM,
    "chat_stream_envelope_end.sse": STREAM,
}


@contextmanager
def serving(body: bytes, *, trickle: bool = False) -> Iterator[Any]:
    """A loopback MAVI that answers every request with `body` exactly (a JSON sample as JSON,
    a stream sample as events), in one write or one byte a write."""
    content_type = JSON_TYPE if body.lstrip().startswith(b"{") else EVENT_STREAM

    def script(conn: socket.socket, request: Request) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not trickle:
            conn.sendall(head("200 OK", f"Content-Type: {content_type}") + body)
        else:
            conn.sendall(head("200 OK", f"Content-Type: {content_type}"))
            for index in range(len(body)):
                conn.sendall(body[index : index + 1])
        conn.shutdown(socket.SHUT_WR)

    with raw_server(script) as server:
        yield server


def options(base_url: str) -> dict[str, Any]:
    return {"api_key": KEY, "base_url": base_url, "api_version": "v1.2", "max_retries": 0}


# -- the readers: each asks one question and reduces what it gets to a Reading ---------------


def _of_answer(answer: ChatAnswer) -> Reading:
    return Reading(
        answer.text,
        tuple((ref.video_no, ref.start, ref.end) for ref in answer.refs),
        tuple(step.title for step in answer.thinking),
        answer.session_id,
    )


def _of_refs(refs: Any) -> tuple[Moment, ...]:
    return tuple((ref.video_no, ref.start, ref.end) for ref in refs)


def client_chat(base_url: str) -> Reading:
    with MaviClient(**options(base_url)) as client:
        return _of_answer(client.chat([VIDEO], QUESTION))


def async_client_chat(base_url: str) -> Reading:
    async def go() -> ChatAnswer:
        async with AsyncMaviClient(**options(base_url)) as client:
            return await client.chat([VIDEO], QUESTION)

    return _of_answer(asyncio.run(go()))


def _of_stream(deltas: list[Any], stream: Any) -> Reading:
    refs: list[VideoRef] = [ref for delta in deltas for ref in delta.refs]
    assert list(stream.refs) == refs
    return Reading(
        "".join(delta.text for delta in deltas),
        _of_refs(refs),
        tuple(delta.thinking.title for delta in deltas if delta.thinking is not None),
        stream.session_id,
    )


def client_stream(base_url: str, into: list[str] | None = None) -> Reading:
    with MaviClient(**options(base_url)) as client:
        stream = client.stream_chat([VIDEO], QUESTION)
        deltas = []
        for delta in stream:
            deltas.append(delta)
            if into is not None:
                into.append(delta.text)
        return _of_stream(deltas, stream)


def async_client_stream(base_url: str, into: list[str] | None = None) -> Reading:
    async def go() -> Reading:
        async with AsyncMaviClient(**options(base_url)) as client:
            stream = client.stream_chat([VIDEO], QUESTION)
            deltas = []
            async for delta in stream:
                deltas.append(delta)
                if into is not None:
                    into.append(delta.text)
            return _of_stream(deltas, stream)

    return asyncio.run(go())


def _of_langchain(message: Any) -> Reading:
    reasoning = message.additional_kwargs.get("reasoning_content", "")
    refs = message.response_metadata["refs"]
    return Reading(
        message.text,
        tuple((ref["video_no"], ref["start"], ref["end"]) for ref in refs),
        tuple(line.strip("*") for line in reasoning.split("\n\n") if line.startswith("**")),
        message.response_metadata.get("session_id"),
    )


def chat_mavi(streaming: bool, asynchronous: bool) -> Callable[[str], Reading]:
    def read(base_url: str) -> Reading:
        from langchain_mavi import ChatMavi

        model = ChatMavi(video_nos=[VIDEO], **options(base_url))
        if not streaming:
            call = model.ainvoke(QUESTION) if asynchronous else None
            return _of_langchain(asyncio.run(call) if call else model.invoke(QUESTION))

        async def chunks() -> list[Any]:
            return [chunk async for chunk in model.astream(QUESTION)]

        parts = asyncio.run(chunks()) if asynchronous else list(model.stream(QUESTION))
        total = parts[0]
        for part in parts[1:]:
            total += part
        return _of_langchain(total)

    return read


def _of_llamaindex(message: Any) -> Reading:
    from llama_index.core.base.llms.types import CitationBlock, ThinkingBlock

    moments = []
    for block in message.blocks:
        if isinstance(block, CitationBlock):
            where = block.additional_location_info
            end = where.get("end_ms")
            moments.append(
                (block.source.removeprefix("mavi://"), where["start_ms"] / 1000,
                 None if end is None else end / 1000)
            )  # fmt: skip
    steps = [block for block in message.blocks if isinstance(block, ThinkingBlock)]
    return Reading(
        message.content or "",
        tuple(moments),
        tuple(step.additional_information["title"] for step in steps),
        message.additional_kwargs.get("session_id"),
    )


def mavi_llm(streaming: bool, asynchronous: bool) -> Callable[[str], Reading]:
    def read(base_url: str) -> Reading:
        from llama_index.core.llms import ChatMessage

        from llamaindex_mavi import MaviLLM

        llm = MaviLLM(video_nos=[VIDEO], **options(base_url))
        messages = [ChatMessage(role="user", content=QUESTION)]

        async def last() -> Any:
            if not streaming:
                return await llm.achat(messages)
            items = [item async for item in await llm.astream_chat(messages)]
            return items[-1]

        if asynchronous:
            return _of_llamaindex(asyncio.run(last()).message)
        if not streaming:
            return _of_llamaindex(llm.chat(messages).message)
        return _of_llamaindex(list(llm.stream_chat(messages))[-1].message)

    return read


def _of_nodes(text: str, nodes: list[Any], session_id: str | None) -> Reading:
    moments = tuple(
        (node.metadata["video_no"], node.metadata["start"], node.metadata["end"]) for node in nodes
    )
    return Reading(text, moments, None, session_id)


def query_engine(streaming: bool) -> Callable[[str], Reading]:
    def read(base_url: str) -> Reading:
        from llamaindex_mavi import MaviQueryEngine

        engine = MaviQueryEngine(video_nos=[VIDEO], streaming=streaming, **options(base_url))
        response: Any = engine.query(QUESTION)
        text = "".join(response.response_gen) if streaming else str(response)
        return _of_nodes(text, response.source_nodes, response.metadata.get("session_id"))

    return read


def chat_engine(streaming: bool) -> Callable[[str], Reading]:
    def read(base_url: str) -> Reading:
        from llamaindex_mavi import MaviChatEngine

        engine = MaviChatEngine(video_nos=[VIDEO], **options(base_url))
        if not streaming:
            response = engine.chat(QUESTION)
            session = response.metadata.get("session_id")
            return _of_nodes(response.response, response.source_nodes, session)
        streamed = engine.stream_chat(QUESTION)
        text = "".join(streamed.response_gen)
        return _of_nodes(text, streamed.source_nodes, engine.session_id)

    return read


WHOLE: dict[str, Callable[[str], Reading]] = {
    "MaviClient.chat": client_chat,
    "AsyncMaviClient.chat": async_client_chat,
    "ChatMavi.invoke": chat_mavi(streaming=False, asynchronous=False),
    "ChatMavi.ainvoke": chat_mavi(streaming=False, asynchronous=True),
    "MaviLLM.chat": mavi_llm(streaming=False, asynchronous=False),
    "MaviLLM.achat": mavi_llm(streaming=False, asynchronous=True),
    "MaviQueryEngine.query": query_engine(streaming=False),
    "MaviChatEngine.chat": chat_engine(streaming=False),
}
"""Every reader of a whole answer (`POST /serve/api/v1/chat`)."""
STREAMED: dict[str, Callable[[str], Reading]] = {
    "MaviClient.stream_chat": client_stream,
    "AsyncMaviClient.stream_chat": async_client_stream,
    "ChatMavi.stream": chat_mavi(streaming=True, asynchronous=False),
    "ChatMavi.astream": chat_mavi(streaming=True, asynchronous=True),
    "MaviLLM.stream_chat": mavi_llm(streaming=True, asynchronous=False),
    "MaviLLM.astream_chat": mavi_llm(streaming=True, asynchronous=True),
    "MaviQueryEngine(streaming=True).query": query_engine(streaming=True),
    "MaviChatEngine.stream_chat": chat_engine(streaming=True),
}
"""Every reader of a streamed answer (`POST /serve/api/v1/chat_stream`)."""
