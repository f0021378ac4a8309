"""The shared quota's stores (docs/rate-limits-and-bulk.md: an unreachable store
is a MaviConnectionError naming it with its password masked; a silent Redis never hangs a call;
docs/client.md: keys and secrets never appear in repr, logs or messages)."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mavi_core import MaviConnectionError, MaviError, MaviValidationError, RateLimit

PASSWORD = "hunter2-secret"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP server that accepts and never answers (a hung Redis)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_password_holding_an_at_sign_is_masked_whole(caplog: Any) -> None:
    """redis-py reads `redis://:p@ss@host` with the password `p@ss` (the userinfo ends at the
    last `@`). The mask stops at the first `@`: repr and the store-down error show `ss`."""
    url = f"redis://:abc@{PASSWORD}@127.0.0.1:1/0"
    limit = RateLimit(url)
    texts = [repr(limit), limit.backend]
    caplog.set_level(logging.DEBUG, logger="mavi_core")
    try:
        limit.acquire("chat_v12", account="a", timeout=2)
    except MaviError as error:
        texts.append(str(error))
    texts.append(caplog.text)
    assert all(PASSWORD not in text for text in texts), texts


@pytest.mark.parametrize(
    "url",
    [
        f"redis+sentinel://:{PASSWORD}@127.0.0.1:26379/0",
        f"redis//:{PASSWORD}@127.0.0.1:6379/0",  # a typo: no scheme
        f"valkey://:{PASSWORD}@127.0.0.1:6379/0",
    ],
)
def test_an_unknown_store_url_is_refused_without_its_password(url: str) -> None:
    with pytest.raises(MaviValidationError) as caught:
        RateLimit(url)
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        f"Redis://:{PASSWORD}@127.0.0.1:6379/0",  # urlsplit lower-cases the scheme, redis-py not
        f"redis://:{PASSWORD}@127.0.0.1:port/0",
    ],
)
def test_a_malformed_redis_url_is_a_validation_error(url: str) -> None:
    """A URL the store cannot use is the caller's mistake: a MaviValidationError naming what
    to pass, without the password; today a bare ValueError from redis-py."""
    with pytest.raises(MaviValidationError) as caught:
        RateLimit(url)
    assert PASSWORD not in str(caught.value)


def test_an_unwritable_sqlite_store_is_a_typed_error(tmp_path: Any) -> None:
    """A SQLite file that cannot be created: a MaviError naming the store (the architecture
    promises a MaviConnectionError for an unusable store), not a bare library exception."""
    (tmp_path / "afile").write_text("")
    url = f"sqlite:///{tmp_path}/afile/quota.db"  # its directory is a file
    with pytest.raises(MaviError):
        RateLimit(url)


def _acquire_within(
    limit: RateLimit, endpoint: str, account: str, seconds: float
) -> list[BaseException | float]:
    """What `acquire(timeout=1.0)` gave (its wait, or its error) if it ended within `seconds`
    in a thread of its own; empty if it was still waiting."""
    outcome: list[BaseException | float] = []

    def run() -> None:
        try:
            outcome.append(limit.acquire(endpoint, account=account, timeout=1.0))
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return [] if thread.is_alive() else outcome


def test_a_silent_redis_does_not_outlast_the_calls_timeout(silent_port: int) -> None:
    """acquire(timeout=1) against a Redis that accepts and never answers: the call's time is
    1 s, but the store's fixed 10 s socket timeout holds it 10 s (a client's `deadline` is not
    honoured either)."""
    limit = RateLimit(f"redis://:{PASSWORD}@127.0.0.1:{silent_port}/0")
    outcome = _acquire_within(limit, "chat_v12", "a", seconds=3.0)
    assert outcome, "acquire(timeout=1.0) still waiting on the store after 3 s"
    assert isinstance(outcome[0], MaviConnectionError | MaviError)


def test_a_sqlite_store_locked_by_another_process_does_not_hang(tmp_path: Any) -> None:
    """docs/rate-limits-and-bulk.md: "a SQLite file locked too long" is a MaviConnectionError.
    Today a process holding the store's file lock holds acquire(timeout=1.0) for as long as it
    likes (pyrate-limiter's file lock waits without a timeout)."""
    import subprocess
    import sys

    path = tmp_path / "quota.db"
    limit = RateLimit(f"sqlite:///{path}")
    limit.acquire("chat", account="a")
    lock = str(path) + ".lock"
    code = (
        f"from filelock import FileLock; import time; held = FileLock({lock!r}); "
        "held.acquire(); print('held', flush=True); time.sleep(6)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        outcome = _acquire_within(limit, "chat", "b", seconds=3.0)
        assert outcome, "acquire(timeout=1.0) blocked on another process's lock"
        assert isinstance(outcome[0], MaviError)
    finally:
        holder.kill()
        holder.wait()
