"""What a LangChain or LlamaIndex user does with a component beyond asking (pickle it, copy it,
change it with `model_copy`), against the emulator over HTTP. README "Errors": secrets never in a
pickle."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("llama_index.core")

from langchain_core.messages import AIMessage, HumanMessage
from llama_index.core.llms import ChatMessage

from langchain_mavi import ChatMavi, MaviVideoChatTool
from langchain_mavi import MaviVideoRetriever as LangChainRetriever
from langchain_mavi.errors import ChatMaviValidationError
from llamaindex_mavi import MaviChatEngine, MaviLLM, MaviQueryEngine
from llamaindex_mavi import MaviVideoRetriever as LlamaIndexRetriever
from mavi_core import MaviClient, MaviValidationError
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


def test_chatmavi_refuses_a_base_url_with_credentials_when_built() -> None:
    """ChatMavi accepted base_url='http://user:password@host' and showed the password in its
    repr, model_dump and dumpd until the first request (MaviClient and MaviLLM refuse it)."""
    with pytest.raises(ValueError, match="must not hold credentials") as caught:
        ChatMavi(video_nos=["VI1"], base_url="http://user:pa55word@127.0.0.1:1")
    assert "pa55word" not in str(caught.value)


@pytest.mark.parametrize(
    "build",
    [
        lambda: ChatMavi(video_nos=["VI1"], max_retries=True),
        lambda: MaviVideoChatTool(max_retries=True),
        lambda: LangChainRetriever(max_retries=True),
    ],
    ids=["ChatMavi", "MaviVideoChatTool", "LangChain MaviVideoRetriever"],
)
def test_max_retries_true_is_refused_as_by_the_clients(build: Callable[[], Any]) -> None:
    """MaviClient(max_retries=True) is a MaviValidationError; LangChain components read it as 1."""
    with pytest.raises(ValueError, match="max_retries must be a whole number from 0, got True"):
        build()


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
    `except MaviValidationError` (README, "Errors": every error is a MaviError) missed it,
    and ChatMavi's was not its ChatMaviValidationError twin."""
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


def test_a_closed_client_says_so_as_a_mavi_error(emu: MaviEmulator) -> None:
    """After close() (or its `with` block), chat() raised httpx's bare RuntimeError 'Cannot send
    a request, as the client has been closed', which `except MaviError` missed."""
    with MaviClient(emu.api_key, base_url=emu.base_url) as client:
        client.chat(emu.video_nos[:1], "What happens?")
    before = len(emu.requests)
    with pytest.raises(MaviValidationError, match="This MaviClient is closed"):
        client.chat(emu.video_nos[:1], "What happens?")
    with pytest.raises(MaviValidationError, match="This MaviClient is closed"):
        list(client.stream_chat(emu.video_nos[:1], "What happens?"))
    assert len(emu.requests) == before


@pytest.mark.parametrize(
    "window", [-1, 0, "60", float("nan")], ids=["negative", "zero", "str", "nan"]
)
def test_the_readers_window_is_checked_as_a_validation_error(window: Any) -> None:
    """MaviTranscriptReader(window_seconds="60") raised TypeError "'<=' not supported", and
    NaN passed; the LangChain loader refuses them through pydantic."""
    from llamaindex_mavi import MaviTranscriptReader

    with pytest.raises(MaviValidationError, match="window_seconds must be positive"):
        MaviTranscriptReader(["VI1"], window_seconds=window)


def test_a_client_dropped_without_close_leaves_no_open_socket() -> None:
    """A used MaviClient (or a ChatMavi) dropped without close() left its pooled connection
    open: a ResourceWarning 'unclosed socket' when collected, or at exit. openai's client
    closes itself when collected."""
    import gc
    import warnings

    def use_and_drop(emu: MaviEmulator) -> None:
        client = MaviClient(emu.api_key, base_url=emu.base_url)
        client.chat(emu.video_nos[:1], "What happens?")
        chat = ChatMavi(video_nos=emu.video_nos[:1], api_key=emu.api_key, base_url=emu.base_url)
        chat.invoke("What happens?")

    with MaviEmulator(rate_limit=None) as own:  # its port tells this test's sockets apart
        gc.collect()  # what earlier tests left behind is not this test's
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            use_and_drop(own)
            gc.collect()
        port = f", {own.base_url.rsplit(':', 1)[1]})"
    leaks = [str(w.message) for w in caught if w.category is ResourceWarning]
    assert [leak for leak in leaks if port in leak] == []


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


def test_a_process_exits_with_used_clients_in_a_reference_cycle(emu: MaviEmulator) -> None:
    """Closing a dropped client from the collector must not hang the interpreter's last
    collection (a thread started then never runs): examples/demo.py hung at exit."""
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    script = textwrap.dedent(
        f"""
        from mavi_core import MaviClient

        class Holder:
            pass

        holder = Holder()
        holder.me = holder  # a cycle: only the collector frees it, at exit
        holder.client = MaviClient({emu.api_key!r}, base_url={emu.base_url!r})
        holder.client.chat({emu.video_nos[:1]!r}, "What happens?")
        del holder  # garbage, left to the collector's run at exit
        """
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(root), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
