"""A v1.2 answer whose ref times are not finite numbers ("NaN", "Infinity", 1e400 all
read by `_number`) must be a typed error or dropped, not handed to the adapters, which crash
with a bare ValueError/OverflowError (LlamaIndex's `round(start * 1000)`)."""

from __future__ import annotations

import contextlib
import json
import math
import socket

import pytest

from mavi_core import MaviClient, MaviError
from tests.support.rawserver import Request, raw_server, reply
from tests.support.servers import KEY

pytestmark = pytest.mark.integration

REPLY = {
    "code": "0000",
    "msg": "success",
    "data": {
        "role": "ASSISTANT",
        "content": "A boat leaves.",
        "thinkings": [],
        "refs": [
            {
                "video": {"duration": "10", "video_no": "VI1", "video_name": "a.mp4"},
                "refItems": [
                    {"videoNo": "VI1", "startTime": "NaN", "endTime": "Infinity",
                     "type": "visual_ts", "text": "boat"},
                    {"videoNo": "VI1", "startTime": 1.7e308, "type": "keyframe"},
                ],
            }
        ],
        "session_id": "1234567890123456789",
    },
    "success": True,
    "failed": False,
}  # fmt: skip


def _script(conn: socket.socket, request: Request) -> None:
    reply(conn, json.dumps(REPLY).encode(), "Content-Type: application/json")


def test_core_answer_refs_are_finite_or_refused() -> None:
    with raw_server(_script) as server:
        with MaviClient(KEY, base_url=server.base_url, api_version="v1.2") as client:
            try:
                answer = client.chat(["VI1"], "What happens?")
            except MaviError:
                return
    assert all(math.isfinite(ref.start) for ref in answer.refs), answer.refs


def test_mavi_llm_does_not_crash_on_a_nan_ref() -> None:
    pytest.importorskip("llama_index.core")
    from llama_index.core.llms import ChatMessage

    from llamaindex_mavi import MaviLLM

    with raw_server(_script) as server:
        llm = MaviLLM(video_nos=["VI1"], api_key=KEY, base_url=server.base_url, api_version="v1.2")
        with contextlib.suppress(MaviError):  # a typed error is fine
            llm.chat([ChatMessage(role="user", content="What happens?")])
