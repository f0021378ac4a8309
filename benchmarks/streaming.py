"""1. Per-delta streaming cost: one answer of many small deltas, no delay, through every layer.

Time per delta = wall time of the whole stream (request to exhaustion) / deltas, median of the
repetitions. Sync paths are compared with the sync floor (httpx `iter_lines`), async paths with
the async floor (`aiter_lines`); ChatMavi with ChatOpenAI, MaviLLM and MaviQueryEngine with
llama-index-llms-openai's `OpenAI.stream_chat`, from the same rounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from ._paths import Kind, async_paths, sync_paths, v12_async_paths, v12_sync_paths
from ._report import BenchmarkResult, Row, Target, median
from ._server import V12_EXTRA_EVENTS, BenchServer, Scenario
from ._timing import Samples, timed_rounds, timed_rounds_async

__all__ = ["Sizes", "run"]

KEY = "streaming"
CORE_LIMIT = 1.3
PEER_LIMIT = 1.0
LLAMAINDEX_PEER = "OpenAI.stream_chat (LlamaIndex peer)"


@dataclass(frozen=True, slots=True)
class Sizes:
    deltas: int
    delta_chars: int
    repetitions: dict[Kind, int]
    """Timed runs per kind of path: more for the fast ones, whose figures are the tightest."""
    warmups: int
    warmup_items: int


FULL = Sizes(
    deltas=20_000,
    delta_chars=4,
    repetitions={"floor": 9, "core": 9, "adapter": 3, "peer": 3},
    warmups=1,
    warmup_items=1_000,
)
SMOKE = Sizes(
    deltas=50,
    delta_chars=4,
    repetitions={"floor": 1, "core": 1, "adapter": 1, "peer": 1},
    warmups=1,
    warmup_items=10,
)


def _check(name: str, samples: Samples, scenario: Scenario, floor: bool) -> None:
    # Two lines per event (`data:...` and the blank line); v1.2 has 3 more events.
    lines = 2 * (scenario.deltas + (V12_EXTRA_EVENTS if "v1.2" in name else 0))
    for run in samples.runs:
        if floor and run.items != lines:
            raise RuntimeError(f"{name}: {run.items} lines, expected {lines}")
        if not floor and run.chars != scenario.answer_chars:
            raise RuntimeError(f"{name}: {run.chars} characters, expected {scenario.answer_chars}")


def _rows(samples: dict[str, Samples], scenario: Scenario) -> list[Row]:
    rows: list[Row] = []
    floor_us = 0.0
    for name, path_samples in samples.items():
        is_floor = name.endswith("(floor)")
        _check(name, path_samples, scenario, is_floor)
        per_delta = [ns / scenario.deltas / 1000 for ns in path_samples.total_ns()]
        value = median(per_delta)
        if is_floor:
            floor_us = value
        rows.append(
            Row(
                name,
                value,
                "us/delta",
                None if is_floor else value / floor_us,
                f"best {min(per_delta):.2f}"
                + ("" if is_floor else f"; +{value - floor_us:.2f} us over the floor"),
                {"samples_us_per_delta": per_delta, "best_us_per_delta": min(per_delta)},
            )
        )
    return rows


def _repetitions(sizes: Sizes) -> str:
    return ", ".join(f"{kind} x{count}" for kind, count in sizes.repetitions.items())


def run(server: BenchServer, smoke: bool = False) -> BenchmarkResult:
    sizes = SMOKE if smoke else FULL
    scenario = Scenario(sizes.deltas, sizes.delta_chars)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        paths = sync_paths(server, scenario, stack) + v12_sync_paths(server, scenario, stack)
        sync_samples = timed_rounds(paths, sizes.repetitions, sizes.warmups, sizes.warmup_items)

    async def async_run() -> dict[str, Samples]:
        async with contextlib.AsyncExitStack() as stack:
            # The async peers are left out: ChatOpenAI.astream alone would take a minute.
            paths = async_paths(server, scenario, stack, peer=False)
            paths += v12_async_paths(server, scenario, stack)
            return await timed_rounds_async(
                paths, sizes.repetitions, sizes.warmups, sizes.warmup_items
            )

    async_samples = asyncio.run(async_run())
    rows = _rows(sync_samples, scenario) + _rows(async_samples, scenario)
    by_name = {row.name: row for row in rows}

    def ratio(name: str) -> float:
        return by_name[name].floor_ratio or 0.0

    def versus(name: str, peer: str) -> float:
        return by_name[name].value / by_name[peer].value

    targets = [
        *(
            Target(
                f"{name} v1.2 per delta <= 1.3 x its own floor",
                ratio(f"{name} v1.2"),
                CORE_LIMIT,
                f"x v1.2 floor; v1.0: {ratio(name):.2f} x its floor",
                ratio(f"{name} v1.2") <= CORE_LIMIT,
            )
            for name in ("MaviClient.stream_chat", "AsyncMaviClient.stream_chat")
        ),
        Target(
            "MaviClient.stream_chat per delta <= 1.3 x floor",
            ratio("MaviClient.stream_chat"),
            CORE_LIMIT,
            "x sync floor",
            ratio("MaviClient.stream_chat") <= CORE_LIMIT,
        ),
        Target(
            "AsyncMaviClient.stream_chat <= 1.3 x floor (async twin)",
            ratio("AsyncMaviClient.stream_chat"),
            CORE_LIMIT,
            "x async floor",
            ratio("AsyncMaviClient.stream_chat") <= CORE_LIMIT,
        ),
        Target(
            "ChatMavi.stream per delta <= ChatOpenAI.stream",
            versus("ChatMavi.stream", "ChatOpenAI.stream (peer)"),
            PEER_LIMIT,
            "x ChatOpenAI",
            versus("ChatMavi.stream", "ChatOpenAI.stream (peer)") <= PEER_LIMIT,
        ),
        *(
            Target(
                f"{name} per delta <= LlamaIndex OpenAI.stream_chat",
                versus(name, LLAMAINDEX_PEER),
                PEER_LIMIT,
                "x OpenAI.stream_chat",
                versus(name, LLAMAINDEX_PEER) <= PEER_LIMIT,
            )
            for name in ("MaviLLM.stream_chat", "MaviQueryEngine.query stream")
        ),
    ]
    return BenchmarkResult(
        key=KEY,
        title="1. Per-delta streaming cost",
        method=(
            f"{scenario.deltas:,} deltas of {scenario.size} chars, no delay; wall time of "
            f"the whole stream / deltas (perf_counter_ns); median of interleaved runs "
            f"({_repetitions(sizes)}) after a warm-up of {sizes.warmup_items:,} deltas; "
            f"server: {BenchServer.description}"
        ),
        rows=rows,
        targets=targets,
        seconds=time.perf_counter() - started,
    )
