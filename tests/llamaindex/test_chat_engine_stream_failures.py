"""MaviChatEngine's streams over a loopback server: every piece that arrived is handed out
before the error, none is lost to LlamaIndex's queue, and a failed turn leaves the memory as it
was."""

from __future__ import annotations

import asyncio
import socket

import pytest

from tests.support.rawserver import Request, raw_server, reply
from tests.support.servers import KEY, v10_event

pytestmark = pytest.mark.integration

both = pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])


# MaviChatEngine's streams, on a stream that breaks after text: LlamaIndex's readers looked
# for the writer's error before taking the next delta from the queue, so the deltas queued
# before it were lost (all but the first with astream_chat; some or all with stream_chat,
# as the thread ran), and the writing thread ended with the error unhandled.

PIECES = ["The ", "harbor ", "wakes."]


def _pieces_then_an_error(conn: socket.socket, request: Request) -> None:
    events = b"".join(v10_event(piece) + b"\n\n" for piece in PIECES)
    reply(conn, events + b'data:{"code":"0429","msg":"Request has exceeded the limit."}\n\n')


def test_chat_engine_stream_chat_hands_out_every_piece_then_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from llamaindex_mavi import MaviChatEngine
    from mavi_core import MaviStreamError

    unhandled: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: unhandled.append(args.exc_value))
    with raw_server(_pieces_then_an_error) as server:
        engine = MaviChatEngine(video_nos=["VI1"], api_key=KEY, base_url=server.base_url)
        for _ in range(5):  # the loss depended on how the writing thread ran
            received: list[str] = []
            response = engine.stream_chat("What happens?")
            with pytest.raises(MaviStreamError):
                for delta in response.response_gen:
                    received.append(delta)
            assert received == PIECES
        assert len(server.requests) == 5
    assert unhandled == []
    assert engine.chat_history == []  # a failed turn leaves the memory as it was


def test_chat_engine_astream_chat_hands_out_every_piece_then_raises() -> None:
    from llamaindex_mavi import MaviChatEngine
    from mavi_core import MaviStreamError

    async def go(base_url: str) -> list[str]:
        engine = MaviChatEngine(video_nos=["VI1"], api_key=KEY, base_url=base_url)
        received: list[str] = []
        response = await engine.astream_chat("What happens?")
        with pytest.raises(MaviStreamError):
            async for delta in response.async_response_gen():
                received.append(delta)
        assert engine.chat_history == []
        return received

    with raw_server(_pieces_then_an_error) as server:
        assert asyncio.run(go(server.base_url)) == PIECES
        assert len(server.requests) == 1


@both
def test_chat_engine_streams_still_end_with_the_whole_answer(asynchronous: bool) -> None:
    from llamaindex_mavi import MaviChatEngine

    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, b"".join(v10_event(piece) + b"\n\n" for piece in PIECES))

    with raw_server(script) as server:
        engine = MaviChatEngine(video_nos=["VI1"], api_key=KEY, base_url=server.base_url)
        if asynchronous:

            async def go() -> list[str]:
                response = await engine.astream_chat("What happens?")
                return [delta async for delta in response.async_response_gen()]

            received = asyncio.run(go())
        else:
            received = list(engine.stream_chat("What happens?").response_gen)
    assert received == PIECES
    assert [message.content for message in engine.chat_history] == [
        "What happens?",
        "".join(PIECES),
    ]
