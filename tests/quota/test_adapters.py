"""LangChain and LlamaIndex draw on the same shared budget."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.rate_limiters import BaseRateLimiter
from pydantic import SecretStr

from langchain_mavi import ChatMavi, MaviRateLimiter, MaviVideoChatTool, MaviVideoRetriever
from llamaindex_mavi import MaviChatEngine, MaviLLM, MaviQueryEngine
from llamaindex_mavi import MaviVideoRetriever as LlamaRetriever
from mavi_core import Budget, MaviSettings, RateLimit
from mavi_core.emulator import MaviEmulator

HARBOR = "VI634021587219364352"


@pytest.fixture
def emu() -> Iterator[MaviEmulator]:
    with MaviEmulator(rate_limit=None) as emulator:
        yield emulator


def _budget_left(limit: RateLimit, emu: MaviEmulator, endpoint: str = "chat") -> bool:
    account = MaviSettings(emu.base_url, api_key=SecretStr(emu.api_key)).fingerprint()
    return limit.try_acquire(endpoint, account=account) == 0.0


def test_mavi_rate_limiter_is_a_langchain_rate_limiter() -> None:
    assert isinstance(MaviRateLimiter(), BaseRateLimiter)


def test_the_limiter_draws_on_the_chat_budget_of_its_dialect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert MaviRateLimiter().endpoint == "chat"
    assert MaviRateLimiter(api_version="v1.2").endpoint == "chat_v12"
    assert MaviRateLimiter(endpoint="list").endpoint == "list"
    monkeypatch.setenv("MAVI_API_VERSION", "v1.2")
    assert MaviRateLimiter().endpoint == "chat_v12"  # the model's default too


def test_a_model_refuses_a_limiter_of_another_dialect() -> None:
    with pytest.raises(ValueError, match=r"draws on the 'chat' budget.*api_version='v1.2'"):
        ChatMavi(video_nos=[HARBOR], api_version="v1.2", rate_limiter=MaviRateLimiter())


@pytest.mark.parametrize("api_version", ["v1.0", "v1.2"])
@pytest.mark.parametrize("how", ["invoke", "ainvoke", "stream"])
def test_chat_mavi_with_a_mavi_rate_limiter_counts_each_call_once(
    emu: MaviEmulator, how: str, api_version: str
) -> None:
    endpoint = "chat_v12" if api_version == "v1.2" else "chat"
    limit = RateLimit(budgets={endpoint: Budget(3, 60.0)})
    limiter = MaviRateLimiter(limit, api_key=emu.api_key, api_version=api_version)
    llm = ChatMavi(
        video_nos=[HARBOR],
        api_key=emu.api_key,
        base_url=emu.base_url,
        api_version=api_version,
        rate_limiter=limiter,
    )
    for _ in range(2):  # were a call counted twice, the second would wait a minute
        if how == "invoke":
            llm.invoke("What happens?")
        elif how == "ainvoke":
            asyncio.run(llm.ainvoke("What happens?"))
        else:
            list(llm.stream("What happens?"))
    assert _budget_left(limit, emu, endpoint)  # the third of three
    assert not _budget_left(limit, emu, endpoint)


def test_a_non_blocking_acquire_says_no_when_the_budget_is_spent(emu: MaviEmulator) -> None:
    limiter = MaviRateLimiter(RateLimit(budgets={"chat": Budget(1, 60.0)}), api_key="sk-x")
    assert limiter.acquire(blocking=False) is True
    assert limiter.acquire(blocking=False) is False
    assert asyncio.run(limiter.aacquire(blocking=False)) is False


def _uses(component: Any, limit: RateLimit) -> bool:
    clients = component._clients if hasattr(component, "_clients") else component.llm._clients
    return clients.sync()._ops.rate_limit is limit and clients.async_()._ops.rate_limit is limit


def test_every_llamaindex_class_takes_the_budget(emu: MaviEmulator) -> None:
    limit = RateLimit()
    options = {"api_key": emu.api_key, "base_url": emu.base_url, "rate_limit": limit}
    for component in (
        MaviLLM([HARBOR], **options),
        MaviQueryEngine([HARBOR], **options),
        MaviChatEngine([HARBOR], **options),
        LlamaRetriever(**options),
    ):
        assert _uses(component, limit), type(component).__name__


def test_langchain_components_take_the_budget(emu: MaviEmulator) -> None:
    limit = RateLimit()
    options = {"api_key": emu.api_key, "base_url": emu.base_url, "rate_limit": limit}
    for component in (
        ChatMavi(video_nos=[HARBOR], **options),
        MaviVideoChatTool(video_nos=[HARBOR], **options),
        MaviVideoRetriever(**options),
    ):
        assert component._get_client()._ops.rate_limit is limit
        assert component._get_async_client()._ops.rate_limit is limit


def test_a_llamaindex_engine_waits_its_turn(emu: MaviEmulator) -> None:
    limit = RateLimit(budgets={"chat": Budget(1, 60.0)})
    engine = MaviQueryEngine([HARBOR], api_key=emu.api_key, base_url=emu.base_url, rate_limit=limit)
    engine.query("What happens?")
    assert not _budget_left(limit, emu)


def test_a_limiter_given_a_key_with_white_space_draws_on_the_clients_budget(
    emu: MaviEmulator,
) -> None:
    # The clients strip the key they are given; the limiter counts on the account they use.
    limit = RateLimit(budgets={"chat": Budget(2, 60.0)})
    limiter = MaviRateLimiter(limit, api_key=f" {emu.api_key}\n")
    assert limiter.acquire(blocking=False) is True
    assert _budget_left(limit, emu)  # the second of two, on the same account
    assert limiter.acquire(blocking=False) is False
