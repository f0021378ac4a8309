"""What a LangChain or LlamaIndex user does with a component beyond asking (pickle it, copy it,
change it with `model_copy`), against the emulator over HTTP. docs/errors-and-wire.md
"Errors": secrets never in a pickle."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("llama_index.core")


from langchain_mavi import ChatMavi, MaviVideoChatTool
from langchain_mavi import MaviVideoRetriever as LangChainRetriever
from llamaindex_mavi import MaviChatEngine, MaviLLM, MaviQueryEngine
from llamaindex_mavi import MaviVideoRetriever as LlamaIndexRetriever
from mavi_core import MaviClient
from mavi_core.emulator import MaviEmulator

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture(scope="module")
def emu() -> Iterator[MaviEmulator]:
    with MaviEmulator(rate_limit=None) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def other() -> Iterator[MaviEmulator]:
    with MaviEmulator(rate_limit=None) as emulator:
        yield emulator


def _ask(component: Any) -> str:
    """One request through any component, as its framework asks."""
    if isinstance(component, ChatMavi):
        return str(component.invoke("What happens?").text)
    if isinstance(component, MaviVideoChatTool):
        return str(component.invoke({"question": "What happens?"}))
    if isinstance(component, LangChainRetriever):
        return str(component.invoke("a boat"))
    if isinstance(component, MaviLLM):
        return component.complete("What happens?").text
    if isinstance(component, MaviQueryEngine):
        return str(component.query("What happens?"))
    if isinstance(component, MaviChatEngine):
        return str(component.chat("What happens?"))
    return str(component.retrieve("a boat"))


COMPONENTS: dict[str, Callable[..., Any]] = {
    "ChatMavi": lambda video_nos, **kw: ChatMavi(video_nos=video_nos, **kw),
    "MaviVideoChatTool": lambda video_nos, **kw: MaviVideoChatTool(video_nos=video_nos, **kw),
    "LangChain MaviVideoRetriever": lambda video_nos, **kw: LangChainRetriever(k=1, **kw),
    "MaviLLM": lambda video_nos, **kw: MaviLLM(video_nos=video_nos, **kw),
    "MaviQueryEngine": lambda video_nos, **kw: MaviQueryEngine(video_nos=video_nos, **kw),
    "MaviChatEngine": lambda video_nos, **kw: MaviChatEngine(video_nos=video_nos, **kw),
    "LlamaIndex MaviVideoRetriever": lambda video_nos, **kw: LlamaIndexRetriever(
        similarity_top_k=1, **kw
    ),
}


def _build(name: str, emu: MaviEmulator) -> Any:
    return (
        COMPONENTS[name](
            emu.video_nos[:1], api_key=emu.api_key, base_url=emu.base_url, with_transcript=False
        )
        if "Retriever" in name
        else COMPONENTS[name](emu.video_nos[:1], api_key=emu.api_key, base_url=emu.base_url)
    )


@pytest.mark.parametrize("name", list(COMPONENTS))
def test_a_pickled_component_carries_no_key_and_reads_it_from_the_environment(
    name: str, emu: MaviEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every component pickled its api_key in plain text (LlamaIndex's retriever could not be
    pickled at all, and LlamaIndex ones logged 'Removing unpickleable private attribute')."""
    monkeypatch.delenv("MAVI_API_KEY", raising=False)
    component = _build(name, emu)
    _ask(component)  # built clients (locks, sockets) must not stop a pickle
    data = pickle.dumps(component)
    assert emu.api_key.encode() not in data
    monkeypatch.setenv("MAVI_API_KEY", emu.api_key)  # where it is unpickled, as loads() does
    restored = pickle.loads(data)
    before = len(emu.requests)
    assert _ask(restored)
    assert len(emu.requests) > before


@pytest.mark.parametrize("name", list(COMPONENTS))
def test_a_used_component_can_be_deep_copied(name: str, emu: MaviEmulator) -> None:
    """copy.deepcopy of any component raised TypeError: cannot pickle '_thread.RLock' object
    once it had asked once (LlamaIndex ones even before)."""
    component = _build(name, emu)
    _ask(component)
    twin = copy.deepcopy(component)
    assert _ask(twin)
    assert _ask(component)


def test_a_component_with_an_injected_client_says_why_it_cannot_be_pickled(
    emu: MaviEmulator,
) -> None:
    with MaviClient(emu.api_key, base_url=emu.base_url) as client:
        for component in (
            ChatMavi(video_nos=emu.video_nos[:1], client=client),
            MaviLLM(emu.video_nos[:1], client=client),  # LlamaIndex dropped it with a warning,
            MaviQueryEngine(emu.video_nos[:1], client=client),  # then failed when unpickled
        ):
            with pytest.raises(TypeError, match="client= or async_client= cannot be pickled"):
                pickle.dumps(component)


@pytest.mark.parametrize(
    "name", ["ChatMavi", "MaviVideoChatTool", "LangChain MaviVideoRetriever", "MaviLLM"]
)
def test_model_copy_with_another_base_url_asks_that_host(
    name: str, emu: MaviEmulator, other: MaviEmulator
) -> None:
    """After a first request, `model_copy(update={"base_url": ...})` kept sending to the old
    host: the copy reused the original's clients."""
    component = _build(name, emu)
    _ask(component)
    moved = component.model_copy(update={"base_url": other.base_url})
    before, before_other = len(emu.requests), len(other.requests)
    _ask(moved)
    assert len(other.requests) > before_other
    assert len(emu.requests) == before


@pytest.mark.parametrize("name", ["ChatMavi", "MaviVideoChatTool", "LangChain MaviVideoRetriever"])
def test_langchain_components_keep_default_headers_out_of_repr_and_dumps(name: str) -> None:
    """ChatMavi showed default_headers (where README puts a gateway's credentials) in repr,
    model_dump and dumpd; MaviLLM leaves them out."""
    from langchain_core.load import dumps

    component = COMPONENTS[name](["VI1"], default_headers={"X-Gateway-Key": "gw-s3cret"})
    shown = [repr(component), str(component), str(component.model_dump())]
    if isinstance(component, ChatMavi):
        shown.append(dumps(component))
    assert not [text for text in shown if "gw-s3cret" in text]
    assert component.default_headers == {"X-Gateway-Key": "gw-s3cret"}  # still sent
