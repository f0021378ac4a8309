"""A real `redis-server` on loopback for the shared-budget tests, which some tests stop and
start again on the same port (a restart, as after a failover).

On a developer machine without `redis-server` those tests are skipped with the reason; in CI
(`CI=true`) they fail instead, since `make test` installs it (see the Makefile).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

NOTHING_SAVED = ("--save", "", "--appendonly", "no")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server() -> str:
    """The `redis-server` program, or the test skipped (failed in CI) without it."""
    server = shutil.which("redis-server")
    if server is None:
        reason = "redis-server is not installed (make test installs it when run as root)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI must run the Redis tests")
        pytest.skip(reason)
    return server


def start_redis(port: int, folder: Path) -> subprocess.Popen[bytes]:
    """A `redis-server` on 127.0.0.1:`port`, answering PING when this returns; nothing saved."""
    process = subprocess.Popen(
        [redis_server(), "--port", str(port), "--bind", "127.0.0.1", *NOTHING_SAVED],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return process
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("redis-server did not start")
        time.sleep(0.02)


def stop_redis(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)
