"""Several OS processes on one key share one budget: memory (threads of one process), SQLite
(processes of one machine) and Redis (a real redis-server on loopback), against an emulator
that enforces the same limit and refuses anything over it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mavi_core import Budget, MaviClient, RateLimit
from mavi_core.emulator import MaviEmulator

WORKER = Path(__file__).with_name("worker.py")
PER_SECOND = 4
PROCESSES = 3
CHATS = 4  # each: 12 chats at 4 a second need at least 2 s


@pytest.fixture
def emu() -> Iterator[MaviEmulator]:
    with MaviEmulator(rate_limits={"chat": PER_SECOND}, rate_window=1.0) as emulator:
        yield emulator


def _run_processes(emu: MaviEmulator, backend: str) -> tuple[list[dict[str, int]], float]:
    env = {**os.environ, "MAVI_API_KEY": emu.api_key, "MAVI_BASE_URL": emu.base_url}
    started = time.monotonic()
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), backend, str(CHATS), str(PER_SECOND)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    outputs = [worker.communicate(timeout=60)[0] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    return [json.loads(output) for output in outputs], time.monotonic() - started


def _assert_shared(results: list[dict[str, int]], emu: MaviEmulator) -> None:
    assert sum(result["refused"] for result in results) == 0
    assert sum(result["ok"] for result in results) == PROCESSES * CHATS
    chats = [r for r in emu.requests if r.path.endswith("/chat")]
    assert len(chats) == PROCESSES * CHATS  # nothing was retried: nothing was refused


def test_processes_sharing_a_sqlite_file_share_one_budget(
    emu: MaviEmulator, tmp_path: Path
) -> None:
    results, _ = _run_processes(emu, f"sqlite:///{tmp_path / 'quota.db'}")
    _assert_shared(results, emu)


def test_processes_sharing_a_redis_server_share_one_budget(
    emu: MaviEmulator, redis_url: str
) -> None:
    results, _ = _run_processes(emu, redis_url.replace("/0", "/1"))
    _assert_shared(results, emu)


def test_processes_with_their_own_budgets_are_refused(emu: MaviEmulator) -> None:
    # The contrast: three in-process limiters each think they have the whole budget.
    results, _ = _run_processes(emu, "memory://")
    assert sum(result["refused"] for result in results) > 0


def test_threads_of_one_process_share_the_in_process_budget(emu: MaviEmulator) -> None:
    limit = RateLimit(budgets={"chat": Budget(PER_SECOND, 1.0)}, margin=0.3)  # see worker.py
    clients = [
        MaviClient(emu.api_key, base_url=emu.base_url, max_retries=0, rate_limit=limit)
        for _ in range(PROCESSES)
    ]
    started = time.monotonic()
    with ThreadPoolExecutor(PROCESSES * CHATS) as pool:
        answers = list(
            pool.map(
                lambda n: clients[n % PROCESSES].chat(emu.video_nos[:1], "Hi?"),
                range(PROCESSES * CHATS),
            )
        )
    assert len(answers) == PROCESSES * CHATS  # max_retries=0: a refusal would have raised
    assert time.monotonic() - started >= 2.0  # 12 chats at 4 a second
