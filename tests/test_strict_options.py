"""Strict options: a misspelt keyword on any component is refused when it is built, naming the
option and the closest valid one, instead of running with the default it meant to change."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

import langchain_mavi
import llamaindex_mavi
from mavi_core import AsyncMaviClient, MaviClient, RateLimit

HARBOR = "VI634021587219364352"
LOCAL = {"api_key": "sk-test", "base_url": "http://127.0.0.1:9"}

CASES: list[tuple[Callable[..., Any], dict[str, Any], str, str]] = [
    (langchain_mavi.ChatMavi, {"api_verison": "v1.2"}, "api_verison", "api_version"),
    (langchain_mavi.ChatMavi, {"apikey": "sk-other"}, "apikey", "api_key"),
    (langchain_mavi.ChatMavi, {"top_p": 0.3}, "top_p", ""),
    (langchain_mavi.MaviVideoRetriever, {"top_k": 2}, "top_k", "k"),
    (langchain_mavi.MaviVideoChatTool, {"video_no": [HARBOR]}, "video_no", "video_nos"),
    (langchain_mavi.MaviTranscriptLoader, {"kind": "audio"}, "kind", "kinds"),
    (langchain_mavi.MaviRateLimiter, {"endpont": "chat"}, "endpont", "endpoint"),
    (llamaindex_mavi.MaviLLM, {"video_no": [HARBOR]}, "video_no", "video_nos"),
    (llamaindex_mavi.MaviQueryEngine, {"video_no": [HARBOR]}, "video_no", "video_nos"),
    (llamaindex_mavi.MaviChatEngine, {"video_nos": [HARBOR], "apikey": "k"}, "apikey", "api_key"),
    (llamaindex_mavi.MaviVideoRetriever, {"top_k": 2}, "top_k", "similarity_top_k"),
    (llamaindex_mavi.MaviTranscriptReader, {"window": 60}, "window", "window_seconds"),
    (MaviClient, {"apikey": "sk-test"}, "apikey", "api_key"),
    (AsyncMaviClient, {"base_ulr": "http://127.0.0.1:9"}, "base_ulr", "base_url"),
    (RateLimit, {"budget": {}}, "budget", "budgets"),
]


@pytest.mark.parametrize(
    ("make", "options", "wrong", "meant"),
    CASES,
    ids=[f"{make.__name__}-{wrong}" for make, _, wrong, _ in CASES],
)
def test_an_unknown_option_names_itself_and_the_closest_valid_one(
    make: Callable[..., Any], options: dict[str, Any], wrong: str, meant: str
) -> None:
    connection = {} if make in (RateLimit, langchain_mavi.MaviRateLimiter) else LOCAL
    with pytest.raises(TypeError, match=re.escape(repr(wrong))) as caught:
        make(**{**connection, **options})
    if meant:
        assert f"did you mean {meant}?" in str(caught.value)
    assert "sk-other" not in str(caught.value)


def test_the_standard_chat_model_parameters_are_still_accepted() -> None:
    # What langchain-tests' unit suite passes to every chat model.
    llm = langchain_mavi.ChatMavi(
        video_nos=[HARBOR],
        temperature=0,
        max_tokens=100,
        timeout=60,
        stop=[],
        max_retries=2,
        **LOCAL,
    )
    assert (llm.temperature, llm.max_tokens, llm.max_retries) == (0, 100, 2)


def test_the_llamaindex_components_declare_their_connection_once() -> None:
    from llamaindex_mavi._clients import CONNECTION_OPTIONS

    assert {"api_key", "base_url", "timeout", "rate_limit", "client"} <= CONNECTION_OPTIONS
    engine = llamaindex_mavi.MaviQueryEngine([HARBOR], timeout=7.0, **LOCAL)
    assert (engine.timeout, engine.max_retries, engine.base_url) == (7.0, 2, LOCAL["base_url"])
    retriever = llamaindex_mavi.MaviVideoRetriever(max_retries=0, **LOCAL)
    assert (retriever.max_retries, retriever.timeout) == (0, 60.0)
