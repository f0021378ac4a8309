"""Nothing lost through the adapters either: when one network read holds answer pieces and then
an error, every piece reaches the caller, once and in order, before the error; nothing is retried
(docs/errors-and-wire.md)."""

from __future__ import annotations

import json
import socket

import pytest

from langchain_mavi import ChatMavi
from llamaindex_mavi import MaviLLM, MaviQueryEngine
from mavi_core import MaviStreamError
from tests.support.rawserver import Request, raw_server, reply

KEY = "sk-adapter-hostile-0123456789"
PIECES = ["The ", "harbor ", "wakes."]


def _pieces_then_error(conn: socket.socket, request: Request) -> None:
    events = b"".join(
        b"data:"
        + json.dumps({"code": "0000", "msg": "success", "data": {"msg": p}}).encode()
        + b"\n\n"
        for p in PIECES
    )
    reply(conn, events + b'data:{"code":"0429","msg":"Request has exceeded the limit."}\n\n')


def test_chatmavi_stream_hands_out_every_piece_then_raises() -> None:
    with raw_server(_pieces_then_error) as server:
        llm = ChatMavi(video_nos=["VI1"], api_key=KEY, base_url=server.base_url)
        received: list[str] = []
        with pytest.raises(MaviStreamError):
            for chunk in llm.stream("What happens?"):
                if chunk.text:
                    received.append(chunk.text)
    assert received == PIECES
    assert len(server.requests) == 1


async def test_chatmavi_astream_hands_out_every_piece_then_raises() -> None:
    with raw_server(_pieces_then_error) as server:
        llm = ChatMavi(video_nos=["VI1"], api_key=KEY, base_url=server.base_url)
        received: list[str] = []
        with pytest.raises(MaviStreamError):
            async for chunk in llm.astream("What happens?"):
                if chunk.text:
                    received.append(chunk.text)
    assert received == PIECES
    assert len(server.requests) == 1


def test_mavillm_stream_complete_hands_out_every_piece_then_raises() -> None:
    with raw_server(_pieces_then_error) as server:
        llm = MaviLLM(video_nos=["VI1"], api_key=KEY, base_url=server.base_url)
        received: list[str] = []
        with pytest.raises(MaviStreamError):
            for item in llm.stream_complete("What happens?"):
                received.append(item.delta or "")
    assert [text for text in received if text] == PIECES
    assert len(server.requests) == 1


def test_query_engine_stream_hands_out_every_piece_then_raises() -> None:
    with raw_server(_pieces_then_error) as server:
        engine = MaviQueryEngine(
            video_nos=["VI1"], api_key=KEY, base_url=server.base_url, streaming=True
        )
        received: list[str] = []
        response = engine.query("What happens?")
        with pytest.raises(MaviStreamError):
            for delta in response.response_gen:
                received.append(delta)
    assert [text for text in received if text] == PIECES
    assert len(server.requests) == 1
