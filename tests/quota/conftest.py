"""A real `redis-server` on loopback for the shared-budget tests (see tests/support/redis.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.redis import free_port, start_redis, stop_redis


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    process = start_redis(port, tmp_path_factory.mktemp("redis"))
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_redis(process)
