"""ChatMavi and ChatMaviVLM count tokens without any tokenizer package (MAVI publishes none)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langchain_mavi import ChatMavi, ChatMaviVLM
from mavi_core.emulator import MaviEmulator

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture(scope="module")
def emu() -> Iterator[MaviEmulator]:
    with MaviEmulator(rate_limit=None) as emulator:
        yield emulator


def test_token_counts_need_no_tokenizer_package(emu: MaviEmulator) -> None:
    """llm.get_num_tokens(...) (and trim_messages(token_counter=llm)) raised ImportError asking
    for `transformers` (GPT-2's tokenizer, unrelated to MAVI). MAVI publishes no tokenizer:
    the count is LangChain's approximate one, and custom_get_token_ids still wins."""
    from langchain_core.messages import SystemMessage, trim_messages

    llm = ChatMavi(video_nos=emu.video_nos[:1], api_key=emu.api_key, base_url=emu.base_url)
    assert llm.get_num_tokens("What happens in the video?") == 7
    conversation = [SystemMessage("Be brief."), HumanMessage("q" * 400), AIMessage("a" * 400)]
    assert llm.get_num_tokens_from_messages(conversation) > 200
    kept = trim_messages(conversation, max_tokens=120, token_counter=llm, strategy="last")
    assert kept == conversation[-1:]  # about 103 tokens fit, the two messages do not
    counted = ChatMavi(video_nos=["VI1"], custom_get_token_ids=lambda text: [0] * len(text))
    assert counted.get_num_tokens("four") == 4


def test_the_vlm_counts_tokens_without_a_tokenizer_package() -> None:
    """ChatMaviVLM.get_num_tokens raised ImportError asking for `transformers`, as ChatMavi
    once did: the same estimate, and custom_get_token_ids still wins."""
    from langchain_core.messages import SystemMessage, trim_messages

    llm = ChatMaviVLM(model="gemini:gemini-2.5-flash", api_key="sk-test")
    assert llm.get_num_tokens("What happens in the video?") == 7
    conversation = [SystemMessage("Be brief."), HumanMessage("q" * 400), AIMessage("a" * 400)]
    kept = trim_messages(conversation, max_tokens=120, token_counter=llm, strategy="last")
    assert kept == conversation[-1:]
    counted = ChatMaviVLM(
        model="gemini:gemini-2.5-flash", custom_get_token_ids=lambda text: [0] * len(text)
    )
    assert counted.get_num_tokens("four") == 4
    assert counted.get_num_tokens_from_messages([HumanMessage("four")]) > 4
