"""7. Quota: several processes on one key against an emulator enforcing a limit.

The emulator allows LIMIT chats per key per two seconds (MAVI's per-minute limits, scaled to
seconds so a run takes seconds) and refuses the rest with 0429 and `Retry-After`. Three OS
processes ask as fast as they can (two chats in flight each) for DURATION seconds, sharing the
budget through a SQLite file, then through a real `redis-server` on loopback; then the same
without a limiter, each process retrying after the `Retry-After` it was given. Figures: calls
the emulator refused (target 0) and chats answered as a fraction of what the limit allows over
the run (target at least 90 %).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mavi_core.emulator import MaviEmulator

from ._quota_worker import WINDOW
from ._report import BenchmarkResult, Row, Target

__all__ = ["run", "start_redis"]

KEY = "quota"
PROCESSES = 3
THROUGHPUT_TARGET = 0.9
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class Sizes:
    limit: int
    """Chats per key per WINDOW seconds (the emulator's `rate_window`)."""
    duration: float


FULL = Sizes(limit=40, duration=20.0)
SMOKE = Sizes(limit=10, duration=2.0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(folder: str) -> tuple[subprocess.Popen[bytes], str] | None:
    server = shutil.which("redis-server")
    if server is None:
        return None
    port = _free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    process.kill()
    return None


def _scenario(emu: MaviEmulator, backend: str, sizes: Sizes) -> dict[str, int]:
    emu.reset()
    env = {**os.environ, "MAVI_API_KEY": emu.api_key, "MAVI_BASE_URL": emu.base_url}
    start = time.time() + 2.0  # every process imported and waiting
    end = start + sizes.duration
    argv = [sys.executable, "-m", "benchmarks._quota_worker", backend, str(start), str(end)]
    workers = [
        subprocess.Popen([*argv, str(sizes.limit)], cwd=ROOT, env=env, stdout=subprocess.PIPE)
        for _ in range(PROCESSES)
    ]
    totals = {"ok": 0, "refused": 0}
    for worker in workers:
        output, _ = worker.communicate(timeout=sizes.duration + 60)
        if worker.returncode != 0:
            raise RuntimeError(f"a quota worker failed ({worker.returncode})")
        for name, count in json.loads(output).items():
            totals[name] += count
    return totals


def run(server: object = None, smoke: bool = False) -> BenchmarkResult:
    sizes = SMOKE if smoke else FULL
    started = time.perf_counter()
    allowed = sizes.limit * sizes.duration / WINDOW
    rows: list[Row] = []
    targets: list[Target] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        redis = start_redis(folder)
        scenarios = [("SQLite file", f"sqlite:///{folder}/quota.db")]
        if redis is not None:
            scenarios.append(("Redis", redis[1]))
        else:
            notes.append("redis-server is not installed: the Redis scenario did not run")
        scenarios.append(("no limiter (contrast)", ""))
        try:
            with MaviEmulator(rate_limits={"chat": sizes.limit}, rate_window=WINDOW) as emu:
                for name, backend in scenarios:
                    totals = _scenario(emu, backend, sizes)
                    fraction = totals["ok"] / allowed
                    label = f"{PROCESSES} processes, {name}"
                    rows.append(Row(f"{label}: refused", totals["refused"], "calls", extra=totals))
                    rows.append(
                        Row(
                            f"{label}: throughput",
                            fraction,
                            "x limit",
                            note=f"{totals['ok']} chats answered of {allowed:.0f} allowed",
                        )
                    )
                    if backend:
                        targets.append(
                            Target(
                                f"{label}: refused calls",
                                totals["refused"],
                                0,
                                "calls",
                                totals["refused"] == 0,
                            )
                        )
                        targets.append(
                            Target(
                                f"{label}: throughput >= 90% of the limit",
                                fraction,
                                THROUGHPUT_TARGET,
                                "x limit",
                                fraction >= THROUGHPUT_TARGET,
                            )
                        )
        finally:
            if redis is not None:
                redis[0].terminate()
                redis[0].wait(timeout=10)
    return BenchmarkResult(
        key=KEY,
        title="7. Quota shared by processes",
        method=(
            f"emulator limit {sizes.limit} chats per key per {WINDOW:g} s (MAVI's per-minute "
            f"limit scaled to seconds: {sizes.limit * 60 / WINDOW:,.0f} a minute); "
            f"{PROCESSES} OS processes x 2 chats in flight for {sizes.duration:g} s each "
            f"scenario; throughput = chats answered / (limit x duration / window)"
        ),
        rows=rows,
        targets=targets,
        notes=notes,
        seconds=time.perf_counter() - started,
    )
