"""V1.2 chat() against a server that streams anyway (docs/errors-and-wire.md:
nothing lost, nothing repeated; a request is retried only until answer text has arrived, and
chat() carries the text that arrived in the error's partial_text)."""

from __future__ import annotations

import socket

import pytest

from mavi_core import MaviClient, MaviError, MaviStreamError
from tests.support.rawserver import Request, raw_server, reply
from tests.support.servers import KEY

pytestmark = pytest.mark.integration

TEXT_THEN_0429 = (
    b'data:{"type":"content","role":"assistant","content":"Hello ","sessionId":"123"}\n\n'
    b'data:{"type":"content","role":"assistant","content":"world","sessionId":"123"}\n\n'
    b'data:{"code":"0429","msg":"Request has exceeded the limit."}\n\n'
)
TEXT_THEN_ERROR = (
    b'data:{"type":"content","role":"assistant","content":"Hello ","sessionId":"123"}\n\n'
    b'data:"Video is not parsed"\n\n'
)


def _events(body: bytes):  # type: ignore[no-untyped-def]
    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, body, "Content-Type: text/event-stream")

    return script


def test_v12_chat_is_not_retried_after_text_arrived() -> None:
    """Today: three identical requests (the whole answer asked again twice) and a plain
    MaviRateLimitError, where v1.0 chat() raises MaviStreamError after one request."""
    with raw_server(_events(TEXT_THEN_0429)) as server:
        client = MaviClient(KEY, base_url=server.base_url, api_version="v1.2")
        client._sleep = lambda seconds: None  # type: ignore[attr-defined]
        with pytest.raises(MaviError) as caught:
            client.chat(["VI1"], "What happens?")
    assert len(server.requests) == 1, f"{len(server.requests)} requests after text arrived"
    assert isinstance(caught.value, MaviStreamError)
    assert caught.value.partial_text == "Hello world"


def test_v12_chat_error_after_text_carries_partial_text() -> None:
    with raw_server(_events(TEXT_THEN_ERROR)) as server:
        with MaviClient(KEY, base_url=server.base_url, api_version="v1.2") as client:
            with pytest.raises(MaviStreamError) as caught:
                client.chat(["VI1"], "What happens?")
    assert caught.value.partial_text == "Hello "


def test_a_v12_rate_limit_error_quotes_the_v12_budget() -> None:
    """v1.2 allows 1 chat a second (docs/rate-limits-and-bulk.md); the error of a v1.2 client still
    advises v1.0's '10 requests a minute'."""
    body = b'{"code":"0429","msg":"Request has exceeded the limit."}'

    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, body, "Content-Type: application/json")

    with raw_server(script) as server:
        client = MaviClient(KEY, base_url=server.base_url, api_version="v1.2", max_retries=0)
        with pytest.raises(MaviError) as caught:
            client.chat(["VI1"], "What happens?")
    assert "10 requests a minute" not in str(caught.value), str(caught.value)
