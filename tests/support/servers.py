"""Hostile servers for the loopback tests: JSON replies a test chooses, and SSE events of both
dialects as a server writes them."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

from tests.support.rawserver import Request, reply

KEY = "sk-review-key-0123456789abcdef"


def json_server(answer: Callable[[Request], Any]) -> Callable[[socket.socket, Request], None]:
    """A script answering each request with `answer(request)` as a JSON body (bytes as is)."""

    def script(conn: socket.socket, request: Request) -> None:
        body = answer(request)
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        reply(conn, raw, "Content-Type: application/json")

    return script


def ok(data: Any) -> dict[str, Any]:
    return {"code": "0000", "msg": "success", "data": data}


def v10_event(piece: str) -> bytes:
    payload = {"code": "0000", "msg": "success", "data": {"msg": piece}}
    return b"data:" + json.dumps(payload, ensure_ascii=False).encode()


def v12_event(piece: str) -> bytes:
    payload = {"type": "content", "role": "assistant", "content": piece, "sessionId": "7"}
    return b"data:" + json.dumps(payload, ensure_ascii=False).encode()
