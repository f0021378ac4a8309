"""4. Memory: peak growth while streaming a long answer, each path in a fresh child process.

Two figures per path, from two passes over the same answer in the child:
- peak RSS growth: the kernel's high-water mark (VmHWM, reset through /proc/self/clear_refs
  before the pass; where that is refused, RSS sampled every 2 ms) minus RSS before the pass;
- tracemalloc peak: the peak of Python allocations during the second pass, over its start.
The user's loop keeps nothing (it counts characters). Imports and one short warm-up stream
happen before the baseline, so only the answer's cost is counted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import re
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ._paths import API_KEY, QUESTION, VIDEO_NOS
from ._report import BenchmarkResult, Row, Target
from ._server import BenchServer, Scenario

__all__ = ["Sizes", "run"]

KEY = "memory"
LIMIT_MB = 10.0
MB = 1_000_000
PATHS = (
    "MaviClient.stream_chat",
    "AsyncMaviClient.stream_chat",
    "ChatMavi.stream",
    "ChatOpenAI.stream (peer)",
)


@dataclass(frozen=True, slots=True)
class Sizes:
    deltas: int
    delta_chars: int
    workers: int
    """Children at once: 1 for figures, 2 when only the code path matters (smoke)."""


FULL = Sizes(deltas=12_500, delta_chars=4_000, workers=1)  # 50,000,000 characters
SMOKE = Sizes(deltas=50, delta_chars=4_000, workers=2)


# --- in the child -------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        match = re.search(rf"^{field}:\s+(\d+) kB", status.read(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no {field} in /proc/self/status")
    return int(match.group(1))


class PeakRss:
    """Peak RSS during a block, in bytes: VmHWM after a reset, else sampled every 2 ms."""

    def __init__(self) -> None:
        self.method = "VmHWM"
        self.peak = 0
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None

    def __enter__(self) -> PeakRss:
        try:
            with open("/proc/self/clear_refs", "w") as clear_refs:
                clear_refs.write("5")  # resets VmHWM to the current RSS
        except OSError:
            self.method = "sampled"
            self.peak = _status_kib("VmRSS") * 1024
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _status_kib("VmRSS") * 1024)

    def __exit__(self, *exc_info: object) -> None:
        if self._sampler is not None:
            self._stop.set()
            self._sampler.join()
        else:
            self.peak = _status_kib("VmHWM") * 1024


def _consumer(path: str, url: str) -> Callable[[], int]:
    """A function that streams the whole answer once through `path`, returning its length."""
    if path == "MaviClient.stream_chat":
        from mavi_core import MaviClient

        client = MaviClient(API_KEY, base_url=url)

        def core() -> int:
            return sum(len(delta.text) for delta in client.stream_chat(VIDEO_NOS, QUESTION))

        return core
    if path == "AsyncMaviClient.stream_chat":
        from mavi_core import AsyncMaviClient

        async def consume() -> int:
            async with AsyncMaviClient(API_KEY, base_url=url) as client:
                chars = 0
                async for delta in client.stream_chat(VIDEO_NOS, QUESTION):
                    chars += len(delta.text)
                return chars

        return lambda: asyncio.run(consume())
    if path == "ChatMavi.stream":
        from langchain_mavi import ChatMavi

        llm = ChatMavi(video_nos=VIDEO_NOS, api_key=API_KEY, base_url=url)
        return lambda: sum(len(str(chunk.content)) for chunk in llm.stream(QUESTION))
    if path == "ChatOpenAI.stream (peer)":
        from langchain_openai import ChatOpenAI

        peer = ChatOpenAI(model="bench", api_key=API_KEY, base_url=url + "/v1")
        return lambda: sum(len(str(chunk.content)) for chunk in peer.stream(QUESTION))
    raise ValueError(f"unknown path {path!r}")


def measure_in_child(path: str, url: str, warmup_url: str) -> dict[str, Any]:
    _consumer(path, warmup_url)()  # loads every module the pass needs
    consume = _consumer(path, url)
    gc.collect()
    rss_before = _status_kib("VmRSS") * 1024
    started = time.perf_counter()
    with PeakRss() as peak:
        chars = consume()
    seconds = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    traced_before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    traced_chars = consume()
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    if traced_chars != chars:
        raise RuntimeError(f"{path}: {chars} then {traced_chars} characters")
    return {
        "chars": chars,
        "rss_growth": peak.peak - rss_before,
        "rss_method": peak.method,
        "traced_growth": traced_peak - traced_before,
        "seconds": seconds,
    }


def child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory")
    parser.add_argument("path", choices=PATHS)
    parser.add_argument("url")
    parser.add_argument("warmup_url")
    args = parser.parse_args(argv)
    print(json.dumps(measure_in_child(args.path, args.url, args.warmup_url)))


# --- in the parent ------------------------------------------------------------------------


def _in_child(path: str, server: BenchServer, scenario: Scenario) -> dict[str, Any]:
    base = server.origin
    if path.endswith("(peer)"):
        url, warmup_url = server.origin + scenario.prefix, base + Scenario(3, 4).prefix
    else:
        url, warmup_url = server.mavi_url(scenario), server.mavi_url(Scenario(3, 4))
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", path, url, warmup_url],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"memory child for {path} failed:\n{completed.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    if figures["chars"] != scenario.answer_chars:
        raise RuntimeError(f"{path}: {figures['chars']} chars, expected {scenario.answer_chars}")
    return figures


def _answers(
    server: BenchServer, scenario: Scenario, workers: int
) -> Iterator[tuple[str, dict[str, Any]]]:
    with ThreadPoolExecutor(workers) as pool:
        yield from zip(
            PATHS, pool.map(lambda path: _in_child(path, server, scenario), PATHS), strict=True
        )


def run(server: BenchServer, smoke: bool = False) -> BenchmarkResult:
    sizes = SMOKE if smoke else FULL
    scenario = Scenario(sizes.deltas, sizes.delta_chars)
    answer_mb = scenario.answer_chars / MB
    started = time.perf_counter()
    rows: list[Row] = []
    targets: list[Target] = []
    rss_methods = set()
    for path, figures in _answers(server, scenario, sizes.workers):
        rss_mb = figures["rss_growth"] / MB
        traced_mb = figures["traced_growth"] / MB
        growth_mb = max(rss_mb, traced_mb)
        rss_methods.add(figures["rss_method"])
        rows.append(
            Row(
                path,
                growth_mb,
                "MB growth",
                None,
                f"RSS peak +{rss_mb:.1f} MB, tracemalloc peak +{traced_mb:.1f} MB, "
                f"{growth_mb / answer_mb:.2f} x the answer; pass {figures['seconds']:.1f} s",
                figures,
            )
        )
        if path in ("MaviClient.stream_chat", "AsyncMaviClient.stream_chat"):
            label = "MaviClient" if path.startswith("Mavi") else "AsyncMaviClient (twin)"
            targets.append(
                Target(
                    f"{label}: < 10 MB growth for a {answer_mb:g} MB answer",
                    growth_mb,
                    LIMIT_MB,
                    "MB, larger of RSS and tracemalloc",
                    growth_mb < LIMIT_MB,
                )
            )
    return BenchmarkResult(
        key=KEY,
        title="4. Memory while streaming",
        method=(
            f"answer of {scenario.answer_chars:,} chars in {scenario.deltas:,} deltas of "
            f"{scenario.size:,}; each path in a fresh child process; figure = the larger of "
            f"peak RSS growth ({'/'.join(sorted(rss_methods))}) and tracemalloc peak growth; "
            f"server: {BenchServer.description}"
        ),
        rows=rows,
        targets=targets,
        notes=[
            "ChatMavi.stream and ChatOpenAI.stream keep every chunk: langchain-core's "
            "BaseChatModel.stream appends each to a list and merges them for on_llm_end, so "
            "their growth is at least the answer, whatever the model does.",
        ],
        seconds=time.perf_counter() - started,
    )


if __name__ == "__main__":
    child_main(sys.argv[1:])
