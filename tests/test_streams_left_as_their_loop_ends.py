"""Streams left unfinished just as `asyncio.run` ends, their clients never closed, as short
scripts leave them: the connection is closed, and nothing is logged (docs/ARCHITECTURE.md,
"Flows and drivers"). Through the async client and each adapter's async stream."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from mavi_core import AsyncMaviClient
from tests.support.rawserver import Request, head, raw_server
from tests.support.servers import KEY, v10_event

pytestmark = pytest.mark.integration


# 1. An async adapter stream left after its first item when `asyncio.run` ends: asyncio closes
#    every async generator still open at once, and the adapter's generator, closing the stream
#    it reads, closed the client's generator a second time while asyncio's own close of it ran:
#    "aclose(): asynchronous generator is already running", logged by asyncio.


def _slow_answer(conn: socket.socket, request: Request) -> None:
    conn.sendall(head("200 OK", "Content-Type: text/event-stream") + v10_event("Hello") + b"\n\n")
    for _ in range(30):
        time.sleep(0.1)
        conn.sendall(v10_event(" more") + b"\n\n")


async def _first_of_llm_chat(base_url: str) -> Any:
    from llama_index.core.llms import ChatMessage

    from llamaindex_mavi import MaviLLM

    llm = MaviLLM(video_nos=["VI1"], api_key=KEY, base_url=base_url)
    async for item in await llm.astream_chat([ChatMessage(role="user", content="What?")]):
        return item.delta
    return None


async def _first_of_llm_complete(base_url: str) -> Any:
    from llamaindex_mavi import MaviLLM

    llm = MaviLLM(video_nos=["VI1"], api_key=KEY, base_url=base_url)
    async for item in await llm.astream_complete("What happens?"):
        return item.delta
    return None


async def _first_of_query_engine(base_url: str) -> Any:
    from llamaindex_mavi import MaviQueryEngine

    engine = MaviQueryEngine(video_nos=["VI1"], api_key=KEY, base_url=base_url, streaming=True)
    response: Any = await engine.aquery("What happens?")
    async for text in response.async_response_gen():
        return text
    return None


async def _first_of_chat_mavi(base_url: str) -> Any:
    from langchain_mavi import ChatMavi

    async for chunk in ChatMavi(video_nos=["VI1"], api_key=KEY, base_url=base_url).astream("Hi"):
        return chunk.text
    return None


@pytest.mark.parametrize(
    "first",
    [_first_of_llm_chat, _first_of_llm_complete, _first_of_query_engine, _first_of_chat_mavi],
    ids=["MaviLLM.astream_chat", "MaviLLM.astream_complete", "MaviQueryEngine", "ChatMavi"],
)
def test_an_async_adapter_stream_left_as_its_loop_ends_closes_without_errors(
    first: Callable[[str], Any],
) -> None:
    logged: list[object] = []

    async def go(base_url: str) -> Any:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _, context: logged.append(context.get("exception")))
        return await asyncio.wait_for(first(base_url), 30)

    with raw_server(_slow_answer) as server:
        assert asyncio.run(go(server.base_url)) == "Hello"
        assert server.wait_open(0) == 0  # the reply was closed
    assert logged == []


# 2. An async stream abandoned (`return` from inside `async for`) just as `asyncio.run` ends,
#    its client never closed, as short scripts do: asyncio gives the stream's generator a task
#    to close it, then cancels or drops that task as the loop ends, so the close stopped half
#    way and the connection stayed open ("ResourceWarning: unclosed transport" at exit).


@pytest.mark.parametrize("in_a_task", [False, True], ids=["in-main", "in-a-task"])
def test_an_async_stream_abandoned_as_its_loop_ends_closes_its_connection(in_a_task: bool) -> None:
    import gc
    import warnings

    with raw_server(_slow_answer) as server:
        client = AsyncMaviClient(KEY, base_url=server.base_url)

        async def first() -> str:
            async for delta in client.stream_chat(["VI1"], "What happens?"):
                return delta.text
            return ""

        async def go() -> str:
            return await (asyncio.wait_for(first(), 30) if in_a_task else first())

        gc.collect()  # what earlier tests left is not this test's
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            assert asyncio.run(go()) == "Hello"
            assert server.wait_open(0) == 0
            gc.collect()
        port = server.base_url.rsplit(":", 1)[1]
    unclosed = [str(w.message) for w in caught if w.category is ResourceWarning]
    assert [text for text in unclosed if f"{port})" in text or "transport" in text] == []
