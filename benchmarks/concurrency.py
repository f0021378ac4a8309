"""3. Concurrency: many calls at once against a server that takes 50 ms per answer.

Each path makes `calls` concurrent non-streamed calls (`asyncio.gather`) per burst: a cold burst,
which opens the pool's connections, then timed warm bursts on the same objects (one path at a
time, so that no pool sits idle past its keep-alive expiry). Connections are counted by the
server: those that carried at least one chat request.

The ideal is the same burst made by raw HTTP with no layer on top: the faster of raw `httpx` (our
transport) and raw `httpx2` (openai-python's), same pool limits, same server and latency. Raw
httpx through the clients' own pools (`ShardedAsyncTransport`) is shown too: the floor the
clients' layers are measured over. The
strict figure, latency / wall (every call overlapped and free of CPU cost), is printed too: with
200 calls on one core it is out of any Python client's reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ._paths import API_KEY, POOL_LIMITS, QUESTION, VIDEO_NOS, floor_request
from ._report import BenchmarkResult, Row, Target, median
from ._server import BenchServer, Scenario
from ._timing import quiet_gc

__all__ = ["Sizes", "run"]

KEY = "concurrency"
EFFICIENCY_LIMIT = 0.9
FLOOR = "httpx AsyncClient.post (floor)"
FLOOR_HTTPX2 = "httpx2 AsyncClient.post (floor)"
CLIENTS_TRANSPORT = "httpx AsyncClient.post, the clients' transport"


@dataclass(frozen=True, slots=True)
class Sizes:
    calls: int
    latency_ms: int
    bursts: int
    """Warm bursts timed after the cold one."""
    deltas: int = 8


FULL = Sizes(calls=200, latency_ms=50, bursts=3)
SMOKE = Sizes(calls=10, latency_ms=5, bursts=1)


@dataclass(slots=True)
class Burst:
    walls_ms: list[float]
    """The warm bursts: the pool already holds connections from the ones before."""
    cold_ms: float
    cold_connections: int
    connections: list[int]
    """Connections opened by each warm burst."""


Call = Callable[[], Awaitable[str]]


async def _paths(server: BenchServer, scenario: Scenario) -> dict[str, tuple[Call, Any]]:
    """Each path's single call, and the object to close afterwards (or None)."""
    from langchain_openai import ChatOpenAI

    from langchain_mavi import ChatMavi
    from llamaindex_mavi import MaviQueryEngine
    from mavi_core import AsyncMaviClient
    from mavi_core._transport import ShardedAsyncTransport

    url = server.mavi_url(scenario)
    http = httpx.AsyncClient(limits=POOL_LIMITS)
    request = floor_request(server, scenario, stream=False)
    client = AsyncMaviClient(API_KEY, base_url=url)
    chat_mavi = ChatMavi(video_nos=VIDEO_NOS, api_key=API_KEY, base_url=url)
    engine = MaviQueryEngine(VIDEO_NOS, api_key=API_KEY, base_url=url)
    chat_openai = ChatOpenAI(model="bench", api_key=API_KEY, base_url=server.openai_url(scenario))

    async def floor() -> str:
        response = await http.request(**request)
        return response.text

    paths: dict[str, tuple[Call, Any]] = {FLOOR: (floor, http)}
    # Raw httpx through the pools `AsyncMaviClient` uses: what its own layers are measured over.
    sharded = httpx.AsyncClient(transport=ShardedAsyncTransport())

    async def clients_transport() -> str:
        response = await sharded.request(**request)
        return response.text

    paths[CLIENTS_TRANSPORT] = (clients_transport, sharded)
    # openai-python's transport (pydantic's httpx fork, whose connection pool is linear); it
    # comes with openai >= 3, and the benchmark runs without it.
    with contextlib.suppress(ImportError):
        import httpx2

        http2 = httpx2.AsyncClient(
            limits=httpx2.Limits(
                max_connections=POOL_LIMITS.max_connections,
                max_keepalive_connections=POOL_LIMITS.max_keepalive_connections,
            )
        )

        async def floor_httpx2() -> str:
            response = await http2.request(**request)
            return response.text

        paths[FLOOR_HTTPX2] = (floor_httpx2, http2)

    async def core() -> str:
        return (await client.chat(VIDEO_NOS, QUESTION)).text

    async def langchain() -> str:
        return (await chat_mavi.ainvoke(QUESTION)).text

    async def llamaindex() -> str:
        return str(await engine.aquery(QUESTION))

    async def openai() -> str:
        return (await chat_openai.ainvoke(QUESTION)).text

    paths["AsyncMaviClient.chat"] = (core, client)
    paths["ChatMavi.ainvoke"] = (langchain, None)
    paths["MaviQueryEngine.aquery"] = (llamaindex, engine)
    paths["ChatOpenAI.ainvoke (peer)"] = (openai, None)
    return paths


async def _burst(call: Call, calls: int, expected_chars: int) -> float:
    start = time.perf_counter_ns()
    answers = await asyncio.gather(*(call() for _ in range(calls)))
    wall_ms = (time.perf_counter_ns() - start) / 1e6
    # The floor gets the raw `data:` event; the others the answer text.
    if any(len(answer) < expected_chars for answer in answers):
        raise RuntimeError("a concurrent call returned a short answer")
    return wall_ms


async def _measure(server: BenchServer, sizes: Sizes) -> dict[str, Burst]:
    scenario = Scenario(sizes.deltas, 4, sizes.latency_ms)
    paths = await _paths(server, scenario)
    bursts = {name: Burst([], 0.0, 0, []) for name in paths}
    with quiet_gc():
        # One path at a time: interleaving would leave each pool idle past httpx's 5 s
        # keep-alive expiry, and every burst would reconnect.
        for name, (call, closeable) in paths.items():
            for burst_no in range(1 + sizes.bursts):
                before = server.stats()["connections"]
                wall_ms = await _burst(call, sizes.calls, scenario.answer_chars)
                opened = server.stats()["connections"] - before
                if burst_no == 0:
                    bursts[name].cold_ms = wall_ms
                    bursts[name].cold_connections = opened
                else:
                    bursts[name].walls_ms.append(wall_ms)
                    bursts[name].connections.append(opened)
            if closeable is not None:
                await closeable.aclose()
    return bursts


def run(server: BenchServer, smoke: bool = False) -> BenchmarkResult:
    sizes = SMOKE if smoke else FULL
    started = time.perf_counter()
    bursts = asyncio.run(_measure(server, sizes))
    ideal_ms = min(
        median(bursts[name].walls_ms) for name in (FLOOR, FLOOR_HTTPX2) if name in bursts
    )
    rows: list[Row] = []
    targets: list[Target] = []
    for name, burst in bursts.items():
        wall_ms = median(burst.walls_ms)
        efficiency = ideal_ms / wall_ms
        reconnects = max(burst.connections)
        rows.append(
            Row(
                name,
                wall_ms,
                "ms/burst",
                wall_ms / ideal_ms,
                f"{efficiency:.0%} of ideal, {sizes.latency_ms / wall_ms:.0%} of latency; "
                f"cold burst {burst.cold_ms:,.0f} ms opened {burst.cold_connections} conns, "
                f"warm bursts opened <= {reconnects}",
                {
                    "efficiency": efficiency,
                    "latency_efficiency": sizes.latency_ms / wall_ms,
                    "warm_walls_ms": burst.walls_ms,
                    "cold_wall_ms": burst.cold_ms,
                    "cold_connections": burst.cold_connections,
                    "warm_connections": burst.connections,
                },
            )
        )
        if name in ("ChatMavi.ainvoke", "MaviQueryEngine.aquery"):
            targets.append(
                Target(
                    f"{name}: >= 90% of ideal",
                    efficiency,
                    EFFICIENCY_LIMIT,
                    "ideal / wall",
                    efficiency >= EFFICIENCY_LIMIT,
                )
            )
            targets.append(
                Target(
                    f"{name}: connections reused",
                    reconnects,
                    sizes.calls - 1,
                    "opened per warm burst",
                    reconnects < sizes.calls,
                )
            )
    notes = []
    httpx_ms = median(bursts[FLOOR].walls_ms)
    httpx2_ms = median(bursts[FLOOR_HTTPX2].walls_ms) if FLOOR_HTTPX2 in bursts else httpx_ms
    if httpx_ms > 1.5 * httpx2_ms:
        notes.append(
            f"raw httpx's warm bursts take {httpx_ms / httpx2_ms:.1f} x raw httpx2's: httpcore "
            "1.0.9's pool rescans every connection for each queued request "
            "(_assign_requests_to_connections, encode/httpcore#1035); see "
            "`python -m benchmarks.profile concurrency`."
        )
    return BenchmarkResult(
        key=KEY,
        title="3. Concurrency",
        method=(
            f"{sizes.calls} concurrent non-streamed calls, server latency {sizes.latency_ms} ms, "
            f"no rate limit; per path: a cold burst, then the median wall of {sizes.bursts} warm "
            f"bursts; ideal = the faster raw floor ({ideal_ms:,.0f} ms), latency alone "
            f"{sizes.latency_ms} ms; "
            f"server: {BenchServer.description}"
        ),
        rows=rows,
        targets=targets,
        notes=notes,
        seconds=time.perf_counter() - started,
    )
