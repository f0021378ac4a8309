"""The Redis store carries on after Redis lost its scripts (a restart, a failover, `SCRIPT
FLUSH`), and every store step stays inside the call's deadline: a slow Redis behind a delaying
proxy, a locked, damaged or unreadable SQLite file (docs/ARCHITECTURE.md, "Rate limits")."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mavi_core import Budget, MaviClient, MaviConnectionError, MaviError, RateLimit
from mavi_core.emulator import MaviEmulator
from tests.support.redis import free_port, start_redis, stop_redis

TURN_TAKER = Path(__file__).with_name("turn_taker.py")
ROOT = Path(__file__).resolve().parents[2]


def _turns_in_redis(url: str, name: str) -> list[float]:
    from redis import Redis

    client = Redis.from_url(url)
    try:
        return [
            score / 1000 for _, score in client.zrange(f"mavi:quota:{name}", 0, -1, withscores=True)
        ]
    finally:
        client.close()


def _most_in_any_window(times: list[float], per: float) -> int:
    times = sorted(times)
    return max(
        (sum(1 for t in times[i:] if t < start + per) for i, start in enumerate(times)), default=0
    )


def test_a_flushed_script_is_loaded_again_at_the_next_turn(redis_url: str) -> None:
    from redis import Redis

    account = uuid.uuid4().hex
    limit = RateLimit(redis_url, budgets={"chat": Budget(5, 60.0)})
    assert limit.try_acquire("chat", account=account) == 0
    Redis.from_url(redis_url).script_flush()
    assert limit.try_acquire("chat", account=account) == 0
    assert len(_turns_in_redis(redis_url, f"{account}:chat")) == 2
    limit.close()


def test_three_processes_carry_on_within_a_second_of_a_restarted_redis(tmp_path: Path) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    account = uuid.uuid4().hex
    server = start_redis(port, tmp_path)
    stop = tmp_path / "stop"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    takers = [
        subprocess.Popen(
            [sys.executable, str(TURN_TAKER), url, account, "5", "1", str(stop)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(3)
    ]
    try:
        for taker in takers:
            assert taker.stdout is not None and taker.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # every process taking turns
        down_at = time.time()
        server.kill()  # no goodbye: as a crash or a failover
        server.wait(timeout=10)
        time.sleep(0.5)
        restarting_at = time.time()  # turns may come before start_redis has seen it answer
        server = start_redis(port, tmp_path)
        back_at = time.time()
        time.sleep(1.5)
        stop.touch()
        results = [json.loads(taker.communicate(timeout=60)[0]) for taker in takers]
        after_restart = _turns_in_redis(url, f"{account}:chat")
    finally:
        stop.touch()
        for taker in takers:
            taker.kill()
        stop_redis(server)
    turns = sorted(t for result in results for t in result["turns"])
    assert [t for t in turns if t < down_at], "no turn before the restart"
    assert min(t for t in turns if t >= restarting_at) - back_at < 1.0  # the budget carries on
    for result in results:  # and no process is still failing a second after Redis is back
        assert not [t for t in result["failures"] if t > back_at + 1.0], result["errors"]
    assert after_restart  # the turns since Redis came back, counted by Redis itself
    assert _most_in_any_window(after_restart, 1.0) <= 5


@contextmanager
def _delaying_proxy(target_port: int, delay: float) -> Iterator[int]:
    """A TCP proxy on loopback passing every reply from `target_port` `delay` seconds late."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def pump(source: socket.socket, sink: socket.socket, wait: float) -> None:
        try:
            while data := source.recv(65536):
                time.sleep(wait)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", target_port))
            threading.Thread(target=pump, args=(client, upstream, 0.0), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client, delay), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@pytest.mark.parametrize("delay", [0.8, 1.6])
def test_a_slow_redis_never_holds_a_call_past_its_deadline(redis_url: str, delay: float) -> None:
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    with _delaying_proxy(port, delay) as proxy, MaviEmulator(rate_limit=None) as emu:
        limit = RateLimit(f"redis://127.0.0.1:{proxy}/0", budgets={"chat": Budget(5, 60.0)})
        client = MaviClient(
            api_key=emu.api_key, base_url=emu.base_url, deadline=2.0, rate_limit=limit
        )
        started = time.monotonic()
        with pytest.raises(MaviError):
            client.chat(["VI634021587219364352"], "What happens?")
        late = time.monotonic() - started - 2.0
        client.close()
        limit.close()
    print(f"Redis replies {delay} s late: the call ended {late:+.2f} s past its deadline")
    assert late <= 0.5


def _holding_lock(path: str) -> subprocess.Popen[str]:
    code = (
        "import sys, time; from filelock import FileLock; "
        "lock = FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, path], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_sqlite_file_locked_by_another_process_fails_within_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "budgets.db"
    holder = _holding_lock(f"{path}.lock")
    try:
        started = time.monotonic()
        with pytest.raises(MaviConnectionError) as caught:
            RateLimit(f"sqlite:///{path}", timeout=1.0)
        assert time.monotonic() - started < 1.5
    finally:
        holder.kill()
    assert str(path) in str(caught.value)


def test_a_sqlite_file_locked_at_a_turn_fails_within_the_call_deadline(tmp_path: Path) -> None:
    path = tmp_path / "budgets.db"
    limit = RateLimit(f"sqlite:///{path}")
    holder = _holding_lock(f"{path}.lock")
    try:
        started = time.monotonic()
        with pytest.raises(MaviConnectionError) as caught:
            limit.acquire("chat", account="a", timeout=1.0)
        assert time.monotonic() - started < 1.5
    finally:
        holder.kill()
        limit.close()
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("damage", ["not a database", "a folder"])
def test_a_damaged_or_unreadable_sqlite_file_is_a_connection_error_naming_it(
    tmp_path: Path, damage: str
) -> None:
    path = tmp_path / "budgets.db"
    if damage == "a folder":
        path.mkdir()
    else:
        path.write_bytes(b"this is not a SQLite database\n" * 200)
    with pytest.raises(MaviConnectionError) as caught:
        limit = RateLimit(f"sqlite:///{path}")
        limit.acquire("chat", account="a", timeout=5)  # at construction or at the first turn
    message = str(caught.value)
    assert str(path) in message
    assert not isinstance(caught.value, sqlite3.Error)
    assert "rate_limit='memory://'" in message
