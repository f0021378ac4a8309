"""Running paths in interleaved rounds: warm-ups first, then timed repetitions, medians kept."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import aclosing, closing, contextmanager
from dataclasses import dataclass, field

from ._paths import AsyncPath, Kind, SyncPath

__all__ = [
    "Run",
    "Samples",
    "drain_async",
    "drain_sync",
    "paused_gc",
    "quiet_gc",
    "timed_rounds",
    "timed_rounds_async",
]


@dataclass(slots=True)
class Run:
    """One pass through a path: wall time, time to its first item, and what it delivered."""

    total_ns: int
    first_ns: int
    items: int
    chars: int


@dataclass(slots=True)
class Samples:
    runs: list[Run] = field(default_factory=list)

    def total_ns(self) -> list[float]:
        return [float(run.total_ns) for run in self.runs]

    def first_ns(self) -> list[float]:
        return [float(run.first_ns) for run in self.runs]


def drain_sync(path: SyncPath, limit: int | None = None) -> Run:
    """Run the path to its end (or `limit` items, then close it) and time it."""
    items = chars = 0
    first = 0
    start = time.perf_counter_ns()
    with closing(path.items()) as stream:
        for text in stream:
            if not items:
                first = time.perf_counter_ns()
            items += 1
            chars += len(text)
            if items == limit:
                break
    end = time.perf_counter_ns()
    return Run(end - start, first - start, items, chars)


async def drain_async(path: AsyncPath, limit: int | None = None) -> Run:
    items = chars = 0
    first = 0
    start = time.perf_counter_ns()
    async with aclosing(path.items()) as stream:
        async for text in stream:
            if not items:
                first = time.perf_counter_ns()
            items += 1
            chars += len(text)
            if items == limit:
                break
    end = time.perf_counter_ns()
    return Run(end - start, first - start, items, chars)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No collection inside the block (as `timeit` does); one before it."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Freeze what exists so that the collection before each run only walks what runs made."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def timed_rounds(
    paths: Sequence[SyncPath],
    repetitions: Mapping[Kind, int],
    warmups: int,
    warmup_items: int | None = None,
) -> dict[str, Samples]:
    """Each round runs every path once, in turn, so drift in the machine hits all alike; a path
    drops out once it has its `repetitions[kind]` timed runs."""
    samples = {path.name: Samples() for path in paths}
    with quiet_gc():
        for round_no in range(warmups + max(repetitions.values())):
            for path in paths:
                if round_no >= warmups + repetitions[path.kind]:
                    continue
                gc.collect()
                run = drain_sync(path, None if round_no >= warmups else warmup_items)
                if round_no >= warmups:
                    samples[path.name].runs.append(run)
    return samples


async def timed_rounds_async(
    paths: Sequence[AsyncPath],
    repetitions: Mapping[Kind, int],
    warmups: int,
    warmup_items: int | None = None,
) -> dict[str, Samples]:
    samples = {path.name: Samples() for path in paths}
    with quiet_gc():
        for round_no in range(warmups + max(repetitions.values())):
            for path in paths:
                if round_no >= warmups + repetitions[path.kind]:
                    continue
                gc.collect()
                run = await drain_async(path, None if round_no >= warmups else warmup_items)
                if round_no >= warmups:
                    samples[path.name].runs.append(run)
    return samples
