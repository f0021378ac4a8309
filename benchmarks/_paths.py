"""The streaming paths every benchmark measures, each a generator of the items its user sees.

The floor is raw httpx iterating the lines of the very response the MAVI paths receive (same URL,
body and headers); the peers are langchain-openai's `ChatOpenAI` (for ChatMavi) and
llama-index-llms-openai's `OpenAI` (for MaviLLM and MaviQueryEngine) on the OpenAI-compatible
endpoint of the same server, answering with the same deltas. Each path yields what its user's
loop gets: lines for the floor, delta texts for the others.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from typing import Any, Final, Literal

import httpx

from ._server import MAVI_CHAT_PATH, V12_STREAM_PATH, BenchServer, Scenario

__all__ = [
    "API_KEY",
    "PEER_MODEL",
    "POOL_LIMITS",
    "QUESTION",
    "VIDEO_NOS",
    "AsyncPath",
    "SyncPath",
    "async_paths",
    "sync_paths",
    "v12_async_paths",
    "v12_sync_paths",
]

VIDEO_NOS: Final = ["VI-bench-0001"]
QUESTION: Final = "What happens in the video?"
API_KEY: Final = "sk-bench"
# llama-index-llms-openai checks the model name against OpenAI's list; the server ignores it.
PEER_MODEL: Final = "gpt-4o-mini"
# The limits mavi_core, openai-python and anthropic-sdk-python use, so that the floor's pool is
# not the bottleneck of a concurrency run.
POOL_LIMITS: Final = httpx.Limits(max_connections=1000, max_keepalive_connections=100)

Kind = Literal["floor", "core", "adapter", "peer"]


@dataclass(frozen=True, slots=True)
class SyncPath:
    name: str
    kind: Kind
    items: Callable[[], Generator[str, None, None]]
    """Sends one request and yields what the user's loop receives."""


@dataclass(frozen=True, slots=True)
class AsyncPath:
    name: str
    kind: Kind
    items: Callable[[], AsyncGenerator[str, None]]


def floor_request(server: BenchServer, scenario: Scenario, stream: bool) -> dict[str, Any]:
    """What `MaviClient` sends for the benchmark question, as `httpx` arguments."""
    return {
        "method": "POST",
        "url": server.mavi_url(scenario) + MAVI_CHAT_PATH,
        "json": {"videoNos": VIDEO_NOS, "message": QUESTION, "history": [], "stream": stream},
        "headers": {"Authorization": API_KEY, "Accept": "text/event-stream, application/json"},
    }


def v12_floor_request(server: BenchServer, scenario: Scenario) -> dict[str, Any]:
    """What `MaviClient(api_version="v1.2").stream_chat` sends, as `httpx` arguments."""
    return {
        "method": "POST",
        "url": server.mavi_url(scenario) + V12_STREAM_PATH,
        "json": {"video_nos": VIDEO_NOS, "prompt": QUESTION},
        "headers": {"Authorization": API_KEY, "Accept": "text/event-stream"},
    }


def _floor(http: httpx.Client, request: dict[str, Any]) -> Callable[[], Generator[str, None, None]]:
    def floor() -> Generator[str, None, None]:
        with http.stream(**request) as response:
            yield from response.iter_lines()

    return floor


def _core(client: Any) -> Callable[[], Generator[str, None, None]]:
    def core() -> Generator[str, None, None]:
        for delta in client.stream_chat(VIDEO_NOS, QUESTION):
            yield delta.text

    return core


def _afloor(
    http: httpx.AsyncClient, request: dict[str, Any]
) -> Callable[[], AsyncGenerator[str, None]]:
    async def floor() -> AsyncGenerator[str, None]:
        async with http.stream(**request) as response:
            async for line in response.aiter_lines():
                yield line

    return floor


def _acore(client: Any) -> Callable[[], AsyncGenerator[str, None]]:
    async def core() -> AsyncGenerator[str, None]:
        async for delta in client.stream_chat(VIDEO_NOS, QUESTION):
            yield delta.text

    return core


def v12_sync_paths(
    server: BenchServer, scenario: Scenario, stack: contextlib.ExitStack
) -> list[SyncPath]:
    """The v1.2 stream: raw httpx on its own events (its floor), and `MaviClient`."""
    from mavi_core import MaviClient

    url = server.mavi_url(scenario)
    http = stack.enter_context(httpx.Client(limits=POOL_LIMITS))
    client = stack.enter_context(MaviClient(API_KEY, base_url=url, api_version="v1.2"))
    request = v12_floor_request(server, scenario)
    return [
        SyncPath("httpx iter_lines, v1.2 events (floor)", "floor", _floor(http, request)),
        SyncPath("MaviClient.stream_chat v1.2", "core", _core(client)),
    ]


def v12_async_paths(
    server: BenchServer, scenario: Scenario, stack: contextlib.AsyncExitStack
) -> list[AsyncPath]:
    """The async twins of `v12_sync_paths`; call inside the event loop that will run them."""
    from mavi_core import AsyncMaviClient

    url = server.mavi_url(scenario)
    http = httpx.AsyncClient(limits=POOL_LIMITS)
    stack.push_async_callback(http.aclose)
    client = AsyncMaviClient(API_KEY, base_url=url, api_version="v1.2")
    stack.push_async_callback(client.aclose)
    request = v12_floor_request(server, scenario)
    return [
        AsyncPath("httpx aiter_lines, v1.2 events (floor)", "floor", _afloor(http, request)),
        AsyncPath("AsyncMaviClient.stream_chat v1.2", "core", _acore(client)),
    ]


def _messages() -> list[Any]:
    """The benchmark question as LlamaIndex chat messages."""
    from llama_index.core.base.llms.types import ChatMessage

    return [ChatMessage(role="user", content=QUESTION)]


def _text(content: str | list[str | dict[str, Any]]) -> str:
    return content if isinstance(content, str) else ""


def sync_paths(
    server: BenchServer, scenario: Scenario, stack: contextlib.ExitStack, *, peer: bool = True
) -> list[SyncPath]:
    """Every sync path, with its clients registered on `stack` for closing."""
    from langchain_openai import ChatOpenAI
    from llama_index.core.base.response.schema import StreamingResponse
    from llama_index.llms.openai import OpenAI

    from langchain_mavi import ChatMavi
    from llamaindex_mavi import MaviLLM, MaviQueryEngine
    from mavi_core import MaviClient

    url = server.mavi_url(scenario)
    http = stack.enter_context(httpx.Client(limits=POOL_LIMITS))
    client = stack.enter_context(MaviClient(API_KEY, base_url=url))
    # ChatMavi and ChatOpenAI build their clients on first use and have no close(): they are
    # used exactly as documented and left to the garbage collector.
    chat_mavi = ChatMavi(video_nos=VIDEO_NOS, api_key=API_KEY, base_url=url)
    engine = MaviQueryEngine(VIDEO_NOS, api_key=API_KEY, base_url=url, streaming=True)
    stack.callback(engine.close)
    llm = MaviLLM(VIDEO_NOS, api_key=API_KEY, base_url=url)
    stack.callback(llm.close)
    messages = _messages()
    request = floor_request(server, scenario, stream=True)

    def langchain() -> Generator[str, None, None]:
        for chunk in chat_mavi.stream(QUESTION):
            yield _text(chunk.content)

    def llamaindex() -> Generator[str, None, None]:
        response = engine.query(QUESTION)
        assert isinstance(response, StreamingResponse)
        yield from response.response_gen

    def llamaindex_llm() -> Generator[str, None, None]:
        for item in llm.stream_chat(messages):
            yield item.delta or ""

    paths = [
        SyncPath("httpx iter_lines (floor)", "floor", _floor(http, request)),
        SyncPath("MaviClient.stream_chat", "core", _core(client)),
        SyncPath("ChatMavi.stream", "adapter", langchain),
        SyncPath("MaviQueryEngine.query stream", "adapter", llamaindex),
        SyncPath("MaviLLM.stream_chat", "adapter", llamaindex_llm),
    ]
    if peer:
        chat_openai = ChatOpenAI(
            model="bench", api_key=API_KEY, base_url=server.openai_url(scenario)
        )
        openai_llm = OpenAI(model=PEER_MODEL, api_key=API_KEY, api_base=server.openai_url(scenario))

        def openai() -> Generator[str, None, None]:
            for chunk in chat_openai.stream(QUESTION):
                yield _text(chunk.content)

        def openai_llamaindex() -> Generator[str, None, None]:
            for item in openai_llm.stream_chat(messages):
                yield item.delta or ""

        paths.append(SyncPath("ChatOpenAI.stream (peer)", "peer", openai))
        paths.append(SyncPath("OpenAI.stream_chat (LlamaIndex peer)", "peer", openai_llamaindex))
    return paths


def async_paths(
    server: BenchServer,
    scenario: Scenario,
    stack: contextlib.AsyncExitStack,
    *,
    peer: bool = True,
) -> list[AsyncPath]:
    """Every async path; call inside the event loop that will run them."""
    from langchain_openai import ChatOpenAI
    from llama_index.core.base.response.schema import AsyncStreamingResponse
    from llama_index.llms.openai import OpenAI

    from langchain_mavi import ChatMavi
    from llamaindex_mavi import MaviLLM, MaviQueryEngine
    from mavi_core import AsyncMaviClient

    url = server.mavi_url(scenario)
    http = httpx.AsyncClient(limits=POOL_LIMITS)
    stack.push_async_callback(http.aclose)
    client = AsyncMaviClient(API_KEY, base_url=url)
    stack.push_async_callback(client.aclose)
    chat_mavi = ChatMavi(video_nos=VIDEO_NOS, api_key=API_KEY, base_url=url)
    engine = MaviQueryEngine(VIDEO_NOS, api_key=API_KEY, base_url=url, streaming=True)
    stack.push_async_callback(engine.aclose)
    llm = MaviLLM(VIDEO_NOS, api_key=API_KEY, base_url=url)
    stack.push_async_callback(llm.aclose)
    messages = _messages()
    request = floor_request(server, scenario, stream=True)

    async def langchain() -> AsyncGenerator[str, None]:
        async for chunk in chat_mavi.astream(QUESTION):
            yield _text(chunk.content)

    async def llamaindex() -> AsyncGenerator[str, None]:
        response = await engine.aquery(QUESTION)
        assert isinstance(response, AsyncStreamingResponse)
        async for text in response.async_response_gen():
            yield text

    async def llamaindex_llm() -> AsyncGenerator[str, None]:
        async for item in await llm.astream_chat(messages):
            yield item.delta or ""

    paths = [
        AsyncPath("httpx aiter_lines (floor)", "floor", _afloor(http, request)),
        AsyncPath("AsyncMaviClient.stream_chat", "core", _acore(client)),
        AsyncPath("ChatMavi.astream", "adapter", langchain),
        AsyncPath("MaviQueryEngine.aquery stream", "adapter", llamaindex),
        AsyncPath("MaviLLM.astream_chat", "adapter", llamaindex_llm),
    ]
    if peer:
        chat_openai = ChatOpenAI(
            model="bench", api_key=API_KEY, base_url=server.openai_url(scenario)
        )
        openai_llm = OpenAI(model=PEER_MODEL, api_key=API_KEY, api_base=server.openai_url(scenario))

        async def openai() -> AsyncGenerator[str, None]:
            async for chunk in chat_openai.astream(QUESTION):
                yield _text(chunk.content)

        async def openai_llamaindex() -> AsyncGenerator[str, None]:
            async for item in await openai_llm.astream_chat(messages):
                yield item.delta or ""

        paths.append(AsyncPath("ChatOpenAI.astream (peer)", "peer", openai))
        paths.append(AsyncPath("OpenAI.astream_chat (LlamaIndex peer)", "peer", openai_llamaindex))
    return paths
