"""8. Video-understanding chat completions: per-call cost and time to first response.

A short answer (the Gemini-shaped JSON reply, or with `stream: true` OpenAI-style chunk events)
through `MaviClient.vlm_chat`, `ChatMaviVLM` and `MaviVLM`, each against the raw-httpx floor
on the very same URL and body: a whole call (POST, read, JSON decoded, the text taken) for the
per-call figures, the first line of the stream for the first-response figures. The client is
held to 1.3 x its floor per call; the framework models, whose frameworks add their own
per-call machinery, to their OpenAI peers (`ChatOpenAI.invoke`, LlamaIndex `OpenAI.chat`) on
the same server's OpenAI-compatible endpoint, and to 3 ms added to the first response.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass
from typing import Any, Final

import httpx

from ._paths import API_KEY, PEER_MODEL, POOL_LIMITS, QUESTION, AsyncPath, Kind, SyncPath
from ._report import BenchmarkResult, Row, Target, median
from ._server import VLM_PATH, BenchServer, Scenario
from ._timing import Samples, timed_rounds, timed_rounds_async

__all__ = ["Sizes", "run"]

KEY = "vlm"
CALL_LIMIT = 1.3
FIRST_LIMIT_MS = 3.0
MODEL: Final = "gemini:bench"
VIDEO_URL: Final = "https://media.example/clip.mp4"


@dataclass(frozen=True, slots=True)
class Sizes:
    deltas: int
    repetitions: int
    warmups: int


FULL = Sizes(deltas=3, repetitions=150, warmups=10)
SMOKE = Sizes(deltas=3, repetitions=2, warmups=1)


def _body(stream: bool) -> dict[str, Any]:
    """What the clients send for the benchmark question (`mavi_core._vlm.vlm_call`)."""
    return {
        "model": MODEL,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "input_file", "file_uri": VIDEO_URL, "mime_type": "video/mp4"},
                    {"type": "text", "text": QUESTION},
                ],
            }
        ],
        "stream": stream,
    }


def _request(server: BenchServer, scenario: Scenario, stream: bool) -> dict[str, Any]:
    accept = "text/event-stream, application/json" if stream else "application/json"
    return {
        "method": "POST",
        "url": server.mavi_url(scenario) + VLM_PATH,
        "json": _body(stream),
        "headers": {"Authorization": API_KEY, "Accept": accept},
    }


def _message() -> list[dict[str, Any]]:
    content = [{"type": "video", "url": VIDEO_URL}, {"type": "text", "text": QUESTION}]
    return [{"role": "user", "content": content}]


def _llamaindex_message() -> list[Any]:
    from llama_index.core.base.llms.types import ChatMessage, TextBlock, VideoBlock

    blocks = [VideoBlock(url=VIDEO_URL), TextBlock(text=QUESTION)]
    return [ChatMessage(role="user", blocks=blocks)]


def _core_message() -> list[Any]:
    from mavi_core._vlm import MediaPart, TextPart, VlmMessage

    return [VlmMessage("user", (MediaPart("video", url=VIDEO_URL), TextPart(QUESTION)))]


def sync_paths(
    server: BenchServer, scenario: Scenario, stack: contextlib.ExitStack[Any]
) -> tuple[list[SyncPath], list[SyncPath]]:
    """(per-call paths, streamed paths), sync."""
    from llama_index.core.base.llms.types import ChatMessage

    from langchain_mavi import ChatMaviVLM
    from llamaindex_mavi import MaviVLM
    from mavi_core import MaviClient

    http = stack.enter_context(httpx.Client(limits=POOL_LIMITS))
    url = server.mavi_url(scenario)
    client = stack.enter_context(MaviClient(api_key=API_KEY, base_url=url, rate_limit=None))
    chat = ChatMaviVLM(model=MODEL, api_key=API_KEY, base_url=url, rate_limit=None)
    llm = MaviVLM(MODEL, api_key=API_KEY, base_url=url, rate_limit=None)
    stack.callback(chat.close)
    stack.callback(llm.close)
    whole, streamed = _request(server, scenario, False), _request(server, scenario, True)
    core, lc, li = _core_message(), _message(), _llamaindex_message()

    def floor() -> Generator[str, None, None]:
        yield http.request(**whole).json()["choices"][0]["text"]

    def floor_stream() -> Generator[str, None, None]:
        with http.stream(**streamed) as response:
            yield from response.iter_lines()

    def core_call() -> Generator[str, None, None]:
        yield client.vlm_chat(MODEL, core).text

    def core_stream() -> Generator[str, None, None]:
        with client.stream_vlm_chat(MODEL, core) as deltas:
            for delta in deltas:
                yield delta.text

    def langchain_call() -> Generator[str, None, None]:
        yield chat.invoke(lc).text

    def langchain_stream() -> Generator[str, None, None]:
        for chunk in chat.stream(lc):
            yield chunk.text

    def llamaindex_call() -> Generator[str, None, None]:
        yield llm.chat(li).message.content or ""

    def llamaindex_stream() -> Generator[str, None, None]:
        for item in llm.stream_chat(li):
            yield item.delta or ""

    from langchain_openai import ChatOpenAI
    from llama_index.llms.openai import OpenAI

    chat_openai = ChatOpenAI(model="bench", api_key=API_KEY, base_url=server.openai_url(scenario))
    openai_llm = OpenAI(model=PEER_MODEL, api_key=API_KEY, api_base=server.openai_url(scenario))
    peer_messages = [ChatMessage(role="user", content=QUESTION)]

    def langchain_peer() -> Generator[str, None, None]:
        yield chat_openai.invoke(QUESTION).text

    def llamaindex_peer() -> Generator[str, None, None]:
        yield openai_llm.chat(peer_messages).message.content or ""

    calls = [
        SyncPath("httpx POST + json (floor)", "floor", floor),
        SyncPath("MaviClient.vlm_chat", "core", core_call),
        SyncPath("ChatMaviVLM.invoke", "adapter", langchain_call),
        SyncPath("MaviVLM.chat", "adapter", llamaindex_call),
        SyncPath("ChatOpenAI.invoke (peer)", "peer", langchain_peer),
        SyncPath("OpenAI.chat (LlamaIndex peer)", "peer", llamaindex_peer),
    ]
    streams = [
        SyncPath("httpx iter_lines (floor)", "floor", floor_stream),
        SyncPath("MaviClient.stream_vlm_chat", "core", core_stream),
        SyncPath("ChatMaviVLM.stream", "adapter", langchain_stream),
        SyncPath("MaviVLM.stream_chat", "adapter", llamaindex_stream),
    ]
    return calls, streams


def async_paths(
    server: BenchServer, scenario: Scenario, stack: contextlib.AsyncExitStack[Any]
) -> tuple[list[AsyncPath], list[AsyncPath]]:
    """(per-call paths, streamed paths), async."""
    from langchain_mavi import ChatMaviVLM
    from llamaindex_mavi import MaviVLM
    from mavi_core import AsyncMaviClient

    http = httpx.AsyncClient(limits=POOL_LIMITS)
    stack.push_async_callback(http.aclose)
    url = server.mavi_url(scenario)
    client = AsyncMaviClient(api_key=API_KEY, base_url=url, rate_limit=None)
    stack.push_async_callback(client.aclose)
    chat = ChatMaviVLM(model=MODEL, api_key=API_KEY, base_url=url, rate_limit=None)
    llm = MaviVLM(MODEL, api_key=API_KEY, base_url=url, rate_limit=None)
    stack.push_async_callback(chat.aclose)
    stack.push_async_callback(llm.aclose)
    whole, streamed = _request(server, scenario, False), _request(server, scenario, True)
    core, lc, li = _core_message(), _message(), _llamaindex_message()

    async def floor() -> AsyncGenerator[str, None]:
        yield (await http.request(**whole)).json()["choices"][0]["text"]

    async def floor_stream() -> AsyncGenerator[str, None]:
        async with http.stream(**streamed) as response:
            async for line in response.aiter_lines():
                yield line

    async def core_call() -> AsyncGenerator[str, None]:
        yield (await client.vlm_chat(MODEL, core)).text

    async def core_stream() -> AsyncGenerator[str, None]:
        async with client.stream_vlm_chat(MODEL, core) as deltas:
            async for delta in deltas:
                yield delta.text

    async def langchain_call() -> AsyncGenerator[str, None]:
        yield (await chat.ainvoke(lc)).text

    async def langchain_stream() -> AsyncGenerator[str, None]:
        async for chunk in chat.astream(lc):
            yield chunk.text

    async def llamaindex_call() -> AsyncGenerator[str, None]:
        yield (await llm.achat(li)).message.content or ""

    async def llamaindex_stream() -> AsyncGenerator[str, None]:
        async for item in await llm.astream_chat(li):
            yield item.delta or ""

    calls = [
        AsyncPath("async httpx POST + json (floor)", "floor", floor),
        AsyncPath("AsyncMaviClient.vlm_chat", "core", core_call),
        AsyncPath("ChatMaviVLM.ainvoke", "adapter", langchain_call),
        AsyncPath("MaviVLM.achat", "adapter", llamaindex_call),
    ]
    streams = [
        AsyncPath("async httpx aiter_lines (floor)", "floor", floor_stream),
        AsyncPath("AsyncMaviClient.stream_vlm_chat", "core", core_stream),
        AsyncPath("ChatMaviVLM.astream", "adapter", langchain_stream),
        AsyncPath("MaviVLM.astream_chat", "adapter", llamaindex_stream),
    ]
    return calls, streams


def _rows(samples: dict[str, Samples], first: bool) -> list[Row]:
    """Per call in us (total time), or to the first item in ms (`first`), against the floor."""
    rows: list[Row] = []
    floor = 0.0
    for name, path_samples in samples.items():
        if any(sample.items == 0 for sample in path_samples.runs):
            raise RuntimeError(f"{name}: no answer received")
        values = (
            [ns / 1e6 for ns in path_samples.first_ns()]
            if first
            else [ns / 1e3 for ns in path_samples.total_ns()]
        )
        value = median(values)
        is_floor = name.endswith("(floor)")
        if "peer)" in name and first:
            continue
        if is_floor:
            floor = value
        unit = "ms to first" if first else "us/call"
        rows.append(
            Row(
                f"{name}{' first item' * first}",
                value,
                unit,
                None if is_floor else value / floor,
                "" if is_floor else f"adds {value - floor:+.3f} {'ms' if first else 'us'}",
                {"added": 0.0 if is_floor else value - floor, "samples": values},
            )
        )
    return rows


def run(server: BenchServer, smoke: bool = False) -> BenchmarkResult:
    sizes = SMOKE if smoke else FULL
    scenario = Scenario(sizes.deltas, 4)
    kinds: tuple[Kind, ...] = ("floor", "core", "adapter", "peer")
    repetitions = dict.fromkeys(kinds, sizes.repetitions)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        calls, streams = sync_paths(server, scenario, stack)
        sync_calls = timed_rounds(calls, repetitions, sizes.warmups)
        sync_streams = timed_rounds(streams, repetitions, sizes.warmups)

    async def async_run() -> tuple[dict[str, Samples], dict[str, Samples]]:
        async with contextlib.AsyncExitStack() as stack:
            calls, streams = async_paths(server, scenario, stack)
            return (
                await timed_rounds_async(calls, repetitions, sizes.warmups),
                await timed_rounds_async(streams, repetitions, sizes.warmups),
            )

    async_calls, async_streams = asyncio.run(async_run())
    rows = [
        *_rows(sync_calls, first=False),
        *_rows(async_calls, first=False),
        *_rows(sync_streams, first=True),
        *_rows(async_streams, first=True),
    ]
    by_name = {row.name: row for row in rows}

    def per_call(name: str) -> Target:
        ratio = by_name[name].floor_ratio or 0.0
        return Target(f"{name} <= 1.3 x floor", ratio, CALL_LIMIT, "x floor", ratio <= CALL_LIMIT)

    def first_response(name: str) -> Target:
        added = float(by_name[f"{name} first item"].extra["added"])
        label = f"{name} first response adds <= 3 ms"
        return Target(label, added, FIRST_LIMIT_MS, "ms added", added <= FIRST_LIMIT_MS)

    def versus(name: str, peer: str) -> Target:
        ratio = by_name[name].value / by_name[peer].value
        label = f"{name} per call <= {peer.split(' (')[0]}"
        return Target(label, ratio, 1.0, f"x {peer.split(' (')[0]}", ratio <= 1.0)

    targets = [
        *map(per_call, ("MaviClient.vlm_chat", "AsyncMaviClient.vlm_chat")),
        versus("ChatMaviVLM.invoke", "ChatOpenAI.invoke (peer)"),
        versus("MaviVLM.chat", "OpenAI.chat (LlamaIndex peer)"),
        *map(
            first_response,
            ("ChatMaviVLM.stream", "ChatMaviVLM.astream", "MaviVLM.stream_chat"),
        ),
        first_response("MaviVLM.astream_chat"),
    ]
    return BenchmarkResult(
        key=KEY,
        title="8. Video-understanding chat completions",
        method=(
            f"answer of {scenario.deltas} pieces of {scenario.size} chars; per call: POST to the "
            "text taken from the JSON reply; first response: call to first item of the stream "
            f"(stream: true); median of {sizes.repetitions} interleaved runs after "
            f"{sizes.warmups} warm-ups on a warm keep-alive connection; sync paths over the sync "
            f"floor, async over the async floor; server: {BenchServer.description}"
        ),
        rows=rows,
        targets=targets,
        seconds=time.perf_counter() - started,
    )
