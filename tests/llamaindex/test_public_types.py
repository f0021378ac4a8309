"""A user's code type-checks against llamaindex_mavi under `mypy --strict`: the methods that
LlamaIndex's callback decorators wrap keep their return types (not `Any`)."""

from __future__ import annotations

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api", reason="mypy is a dev tool (make test installs it)")

USER_CODE = """
from typing import assert_type

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
)
from llama_index.core.chat_engine.types import AgentChatResponse, StreamingAgentChatResponse

from llamaindex_mavi import MaviChatEngine, MaviLLM, MaviVLM


def answer(llm: MaviLLM, prompt: str) -> CompletionResponse:
    return llm.complete(prompt)


async def check(messages: list[ChatMessage]) -> None:
    llm = MaviLLM(video_nos=["VI1"])
    assert_type(llm.chat(messages), ChatResponse)
    assert_type(llm.stream_chat(messages), ChatResponseGen)
    assert_type(await llm.achat(messages), ChatResponse)
    assert_type(await llm.astream_chat(messages), ChatResponseAsyncGen)
    assert_type(llm.stream_complete("x"), CompletionResponseGen)
    assert_type(await llm.acomplete("x"), CompletionResponse)
    vlm = MaviVLM(model="gemini:gemini-2.5-flash")
    assert_type(vlm.chat(messages), ChatResponse)
    assert_type(vlm.complete("x"), CompletionResponse)
    engine = MaviChatEngine(video_nos=["VI1"])
    assert_type(engine.chat("x"), AgentChatResponse)
    assert_type(await engine.achat("x"), AgentChatResponse)
    assert_type(engine.stream_chat("x"), StreamingAgentChatResponse)
    assert_type(await engine.astream_chat("x"), StreamingAgentChatResponse)
"""


def test_decorated_methods_keep_their_return_types_for_mypy_strict(tmp_path: Path) -> None:
    script = tmp_path / "user_code.py"
    script.write_text(USER_CODE, encoding="utf-8")
    stdout, stderr, status = mypy_api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(script)]
    )
    assert status == 0, stdout + stderr
