"""The status decides when the body cannot: an error reply whose envelope carries a code the
client does not know is retried as its HTTP status says (429, 408, 5xx) and raised as the class
that status means (401, 403), by both clients and in both dialects."""

from __future__ import annotations

import asyncio
import socket

import pytest

from mavi_core import (
    AsyncMaviClient,
    MaviAuthenticationError,
    MaviClient,
    MaviError,
    MaviPermissionDeniedError,
    MaviRateLimitError,
    MaviServerError,
    MaviTimeoutError,
)
from tests.support.rawserver import Request, raw_server, reply

CASES = [
    ("429 Too Many Requests", MaviRateLimitError, 2),
    ("408 Request Timeout", MaviTimeoutError, 2),
    ("500 Internal Server Error", MaviServerError, 2),
    ("503 Service Unavailable", MaviServerError, 2),
    ("401 Unauthorized", MaviAuthenticationError, 1),
    ("403 Forbidden", MaviPermissionDeniedError, 1),
]


@pytest.mark.parametrize("api_version", ["v1.0", "v1.2"])
@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize(("status", "error_class", "requests"), CASES)
def test_an_unknown_code_is_read_by_the_http_status(
    status: str, error_class: type[MaviError], requests: int, kind: str, api_version: str
) -> None:
    body = b'{"code":"E_SOMETHING_NEW","msg":"the service says no"}'

    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, body, "Content-Type: application/json", "Retry-After: 0", status=status)

    with raw_server(script) as server:
        options = {"base_url": server.base_url, "max_retries": 1, "api_version": api_version}
        with pytest.raises(error_class) as caught:
            if kind == "sync":
                client = MaviClient("sk-test", **options)  # type: ignore[arg-type]
                client._sleep = lambda seconds: None  # type: ignore[method-assign]
                client.chat(["VI634021587219364352"], "What happens?")
            else:
                aclient = AsyncMaviClient("sk-test", **options)  # type: ignore[arg-type]
                aclient._sleep = lambda seconds: asyncio.sleep(0)  # type: ignore[method-assign]
                asyncio.run(aclient.chat(["VI634021587219364352"], "What happens?"))
        assert len(server.requests) == requests
    assert caught.value.status_code == int(status.split()[0])
