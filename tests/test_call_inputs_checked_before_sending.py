"""A call's own inputs (its video_nos, its conversation) are checked before anything is sent,
each failure a MaviValidationError (ChatMavi's, its LangChain twin), in both adapters against
the emulator (docs/errors-and-wire.md "Errors")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("llama_index.core")

from langchain_core.messages import AIMessage, HumanMessage
from llama_index.core.llms import ChatMessage

from langchain_mavi import ChatMavi
from langchain_mavi.errors import ChatMaviValidationError
from llamaindex_mavi import MaviLLM
from mavi_core import MaviValidationError
from mavi_core.emulator import MaviEmulator

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture(scope="module")
def emu() -> Iterator[MaviEmulator]:
    with MaviEmulator(rate_limit=None) as emulator:
        yield emulator


@pytest.mark.parametrize("video_nos", [5, {"VI1": 1}, "VI1"], ids=["int", "dict", "str"])
def test_a_calls_video_nos_of_the_wrong_type_is_a_validation_error(
    video_nos: Any, emu: MaviEmulator
) -> None:
    """llm.invoke('q', video_nos=5) raised TypeError "'int' object is not iterable", and
    MaviLLM's "Value after * must be an iterable"; a dict was taken as its keys."""
    before = len(emu.requests)
    chat = ChatMavi(video_nos=emu.video_nos[:1], api_key=emu.api_key, base_url=emu.base_url)
    with pytest.raises(ChatMaviValidationError, match="video_nos must be"):
        chat.invoke("What happens?", video_nos=video_nos)
    llm = MaviLLM(emu.video_nos[:1], api_key=emu.api_key, base_url=emu.base_url)
    with pytest.raises(MaviValidationError, match="video_nos must be"):
        llm.complete("What happens?", video_nos=video_nos)
    assert len(emu.requests) == before


def test_a_bad_conversation_is_a_mavi_validation_error(emu: MaviEmulator) -> None:
    """An empty question or a conversation ending on an AI message was a bare ValueError:
    `except MaviValidationError` (docs/errors-and-wire.md, "Errors": every error is a MaviError)
    missed it, and ChatMavi's was not its ChatMaviValidationError twin."""
    chat = ChatMavi(video_nos=emu.video_nos[:1], api_key=emu.api_key, base_url=emu.base_url)
    with pytest.raises(ChatMaviValidationError, match="empty"):
        chat.invoke("   ")
    with pytest.raises(ChatMaviValidationError, match="ends with an assistant message"):
        chat.invoke([HumanMessage("q"), AIMessage("a")])
    with pytest.raises(ChatMaviValidationError, match="No video"):
        chat.invoke("q", video_nos=[])
    llm = MaviLLM(emu.video_nos[:1], api_key=emu.api_key, base_url=emu.base_url)
    with pytest.raises(MaviValidationError, match="ends with an assistant message"):
        llm.chat(
            [ChatMessage(role="user", content="q"), ChatMessage(role="assistant", content="a")]
        )
