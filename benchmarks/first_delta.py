"""2. Time to first delta: what each layer adds, over raw httpx, before its user sees any text.

A short answer is sent at once by the server; each path is timed from the call to its first
item (the first line for the floor), then drained so that its connection goes back to the pool
and every run starts on a warm connection, as a second question in a session does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from ._paths import Kind, async_paths, sync_paths
from ._report import BenchmarkResult, Row, Target, median
from ._server import BenchServer, Scenario
from ._timing import Samples, timed_rounds, timed_rounds_async

__all__ = ["Sizes", "run"]

KEY = "first_delta"
CORE_LIMIT_MS = 1.0
ADAPTER_LIMIT_MS = 3.0


@dataclass(frozen=True, slots=True)
class Sizes:
    deltas: int
    repetitions: int
    warmups: int


FULL = Sizes(deltas=3, repetitions=150, warmups=10)
SMOKE = Sizes(deltas=3, repetitions=2, warmups=1)


def _rows(samples: dict[str, Samples], scenario: Scenario) -> list[Row]:
    rows: list[Row] = []
    floor_ms = 0.0
    for name, path_samples in samples.items():
        for sample in path_samples.runs:
            if sample.items == 0:
                raise RuntimeError(f"{name}: no delta received")
        first_ms = [ns / 1e6 for ns in path_samples.first_ns()]
        value = median(first_ms)
        kind_is_floor = name.endswith("(floor)")
        if kind_is_floor:
            floor_ms = value
        rows.append(
            Row(
                name,
                value,
                "ms",
                None if kind_is_floor else value / floor_ms,
                "" if kind_is_floor else f"adds {value - floor_ms:+.3f} ms",
                {
                    "added_ms": 0.0 if kind_is_floor else value - floor_ms,
                    "p90_ms": sorted(first_ms)[int(0.9 * (len(first_ms) - 1))],
                    "samples_ms": first_ms,
                },
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
        sync_samples = timed_rounds(sync_paths(server, scenario, stack), repetitions, sizes.warmups)

    async def async_run() -> dict[str, Samples]:
        async with contextlib.AsyncExitStack() as stack:
            paths = async_paths(server, scenario, stack)
            return await timed_rounds_async(paths, repetitions, sizes.warmups)

    async_samples = asyncio.run(async_run())
    rows = _rows(sync_samples, scenario) + _rows(async_samples, scenario)
    added = {row.name: float(row.extra["added_ms"]) for row in rows}

    def target(name: str, limit: float, label: str) -> Target:
        return Target(label, added[name], limit, "ms added", added[name] <= limit)

    targets = [
        target("MaviClient.stream_chat", CORE_LIMIT_MS, "MaviClient adds <= 1 ms"),
        target("AsyncMaviClient.stream_chat", CORE_LIMIT_MS, "AsyncMaviClient adds <= 1 ms (twin)"),
        target("ChatMavi.stream", ADAPTER_LIMIT_MS, "ChatMavi.stream adds <= 3 ms"),
        target("ChatMavi.astream", ADAPTER_LIMIT_MS, "ChatMavi.astream adds <= 3 ms"),
        target(
            "MaviQueryEngine.query stream", ADAPTER_LIMIT_MS, "MaviQueryEngine.query adds <= 3 ms"
        ),
        target(
            "MaviQueryEngine.aquery stream", ADAPTER_LIMIT_MS, "MaviQueryEngine.aquery adds <= 3 ms"
        ),
        target("MaviLLM.stream_chat", ADAPTER_LIMIT_MS, "MaviLLM.stream_chat adds <= 3 ms"),
        target("MaviLLM.astream_chat", ADAPTER_LIMIT_MS, "MaviLLM.astream_chat adds <= 3 ms"),
    ]
    return BenchmarkResult(
        key=KEY,
        title="2. Time to first delta",
        method=(
            f"answer of {scenario.deltas} deltas sent at once; call to first item "
            f"(perf_counter_ns) on a warm keep-alive connection; median of {sizes.repetitions} "
            f"interleaved runs after {sizes.warmups} warm-ups; added = median - floor median "
            f"(sync paths over the sync floor, async over the async floor); "
            f"server: {BenchServer.description}"
        ),
        rows=rows,
        targets=targets,
        seconds=time.perf_counter() - started,
    )
