"""8. An exact budget at the service: six processes of two threads each share a budget of 10
chats a second through a real `redis-server`, against a server that notes when each request
arrives; every sliding second of arrivals is counted. Twenty runs. Figures: the busiest second
of each run (target: never over 10, in any run), the spread between a turn and its request
leaving (what the window's margin must cover) and the share of the budget used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._exact_worker import CALLS
from ._report import BenchmarkResult, Row, Target
from ._server import BenchServer, Scenario
from .quota import start_redis

__all__ = ["busiest_second", "exact_budget_run", "run"]

KEY = "exact_budget"
PROCESSES = 6
ROOT = Path(__file__).resolve().parents[1]


RUNS = {False: 20, True: 1}
"""Runs, by `smoke`."""
DURATION = {False: 4.0, True: 1.5}
"""Seconds a run, by `smoke`."""


def busiest_second(arrivals: list[float], per: float = 1.0) -> int:
    """The most arrivals in any sliding window of `per` seconds."""
    times = sorted(arrivals)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= per:
            first += 1
        most = max(most, last - first + 1)
    return most


def exact_budget_run(server: BenchServer, backend: str, duration: float) -> dict[str, object]:
    """One run: PROCESSES processes for `duration` seconds; the arrivals the server saw after
    the warm-up, the share of the budget they used, and every spread measured."""
    url = server.mavi_url(Scenario(deltas=1, size=8))
    argv = [sys.executable, "-m", "benchmarks._exact_worker", backend, url]
    pipe, env = subprocess.PIPE, dict(os.environ)
    workers = [
        subprocess.Popen(argv, cwd=ROOT, env=env, stdin=pipe, stdout=pipe, text=True)
        for _ in range(PROCESSES)
    ]
    for worker in workers:  # every process imported and warmed up before the clock starts
        if worker.stdout is None or worker.stdout.readline().strip() != "ready":
            raise RuntimeError(f"an exact-budget worker failed ({worker.wait()})")
    start = time.time() + 1.0  # the warm-up chats a second behind
    outputs = []
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(f"{start} {start + duration}\n")
        worker.stdin.flush()
    for worker in workers:
        output, _ = worker.communicate(timeout=duration + 120)
        if worker.returncode != 0:
            raise RuntimeError(f"an exact-budget worker failed ({worker.returncode})")
        outputs.append(json.loads(output))
    arrivals = [at for at in server.arrivals() if at >= start - 0.5]  # not the warm-ups
    spreads = [spread for output in outputs for spread in output["spreads"]]
    during = sum(start <= at < start + duration for at in arrivals)
    return {"arrivals": arrivals, "used": during / (CALLS * duration), "spreads": spreads}


def run(server: BenchServer, smoke: bool = False) -> BenchmarkResult:
    runs, duration = RUNS[smoke], DURATION[smoke]
    started = time.perf_counter()
    rows: list[Row] = []
    targets: list[Target] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        redis = start_redis(folder)
        if redis is None:
            notes.append("redis-server is not installed: the benchmark did not run")
            return BenchmarkResult(KEY, "Exact budget at the service", "", rows, targets, notes)
        process, url = redis
        busiest: list[int] = []
        spreads: list[float] = []
        used: list[float] = []
        try:
            for _ in range(runs):
                server.arrivals()  # forget anything earlier
                outcome = exact_budget_run(server, url, duration)
                busiest.append(busiest_second(outcome["arrivals"]))  # type: ignore[arg-type]
                spreads += outcome["spreads"]  # type: ignore[arg-type]
                used.append(outcome["used"])  # type: ignore[arg-type]
        finally:
            process.kill()
            process.wait()
    over = sum(most > CALLS for most in busiest)
    spreads.sort()
    rows.append(
        Row("busiest second, most of all runs", max(busiest), "arrivals", extra={"runs": busiest})
    )
    rows.append(Row("runs with a second over the budget", over, "runs"))
    for label, share in (("median", 0.5), ("99th percentile", 0.99), ("most", 1.0)):
        value = spreads[min(len(spreads) - 1, int(share * len(spreads)))] * 1000
        rows.append(Row(f"spread turn stamped -> request leaving, {label}", value, "ms"))
    rows.append(
        Row("share of the budget used, median of runs", sorted(used)[len(used) // 2], "x limit")
    )
    targets.append(
        Target(f"no second over {CALLS} arrivals in {runs} runs", over, 0, "runs", over == 0)
    )
    method = (
        f"{PROCESSES} processes x 2 threads (sync MaviClient), one RateLimit on a real "
        f"redis-server each, budget {CALLS} chats a second with the default margin, "
        f"{duration:g} s a run, {runs} runs, against {BenchServer.description}; "
        "arrivals counted by the server in every sliding second"
    )
    return BenchmarkResult(
        KEY,
        "Exact budget at the service",
        method,
        rows,
        targets,
        notes,
        seconds=time.perf_counter() - started,
    )
