"""One adapter contract: every component of both frameworks takes the same connection options by
the same names, reaches MAVI through one settings object, and is closed the same way."""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any

import httpx
import pytest

import langchain_mavi
import llamaindex_mavi
from mavi_core.emulator import MaviEmulator

HARBOR = "VI634021587219364352"  # a sample video of the emulator
OPTIONS = {
    "api_key",
    "base_url",
    "timeout",
    "max_retries",
    "default_headers",
    "client",
    "async_client",
    "api_version",
    "rate_limit",
}

LANGCHAIN = [
    lambda **kw: langchain_mavi.ChatMavi(video_nos=[HARBOR], **kw),
    lambda **kw: langchain_mavi.MaviVideoChatTool(**kw),
    lambda **kw: langchain_mavi.MaviVideoRetriever(**kw),
]
LLAMAINDEX = [
    lambda **kw: llamaindex_mavi.MaviLLM(video_nos=[HARBOR], **kw),
    lambda **kw: llamaindex_mavi.MaviQueryEngine(video_nos=[HARBOR], **kw),
    lambda **kw: llamaindex_mavi.MaviChatEngine(video_nos=[HARBOR], **kw),
    lambda **kw: llamaindex_mavi.MaviVideoRetriever(**kw),
]


def _options_of(cls: type) -> set[str]:
    """The keywords `cls` takes: its fields, its parameters, and the keys of the TypedDict its
    `**options: Unpack[...]` names."""
    fields = getattr(cls, "model_fields", {})
    parameters = inspect.signature(cls.__init__).parameters.values()
    names = {p.name for p in parameters if p.kind != p.VAR_KEYWORD} | set(fields)
    for parameter in parameters:
        typed = re.fullmatch(r"Unpack\[(\w+)\]", str(parameter.annotation))
        if parameter.kind == parameter.VAR_KEYWORD and typed:
            module = inspect.getmodule(cls.__init__)
            names |= set(getattr(module, typed.group(1)).__annotations__)
    return names


@pytest.mark.parametrize(
    "cls",
    [
        langchain_mavi.ChatMavi,
        langchain_mavi.MaviVideoChatTool,
        langchain_mavi.MaviVideoRetriever,
        llamaindex_mavi.MaviLLM,
        llamaindex_mavi.MaviQueryEngine,
        llamaindex_mavi.MaviChatEngine,
        llamaindex_mavi.MaviVideoRetriever,
        langchain_mavi.MaviTranscriptLoader,
        llamaindex_mavi.MaviTranscriptReader,
    ],
)
def test_every_component_takes_the_same_connection_options(cls: type) -> None:
    assert _options_of(cls) >= OPTIONS, OPTIONS - _options_of(cls)
    assert callable(getattr(cls, "close", None))
    assert callable(getattr(cls, "aclose", None))


@pytest.mark.parametrize("make", LANGCHAIN + LLAMAINDEX)
def test_a_timeout_object_and_headers_reach_the_wire_and_close_works(make: Any) -> None:
    with MaviEmulator(rate_limit=None) as emu:
        component = make(
            api_key=emu.api_key,
            base_url=emu.base_url,
            timeout=httpx.Timeout(5.0, connect=1.0),
            default_headers={"X-Team": "video"},
        )
        _use(component, emu.video_nos[:1])
        assert emu.requests[-1].headers.get("x-team") == "video"
        component.close()
        asyncio.run(component.aclose())


@pytest.mark.parametrize("make", LANGCHAIN + LLAMAINDEX)
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": "10"}, "timeout must be positive seconds (e.g. 60.0), an httpx.Timeout"),
        ({"timeout": httpx.Timeout(-2.0)}, "the httpx.Timeout's connect must be positive"),
        ({"client": httpx.Client()}, "client=mavi_core.MaviClient(http_client=...)"),
        ({"async_client": "x"}, "async_client must be a mavi_core.AsyncMaviClient, got a str"),
    ],
)
def test_wrong_types_fail_when_built_with_mavi_cores_message(
    make: Any, options: dict[str, Any], message: str
) -> None:
    """The clients' own check and message (`mavi_core._adapters.check_client`), when the
    component is built: a `MaviValidationError`, which pydantic-built LangChain components wrap
    in their `ValidationError` (both are `ValueError`s)."""
    with pytest.raises(ValueError, match=re.escape(message)):
        make(api_key="sk-test", base_url="http://127.0.0.1:9", **options)


@pytest.mark.parametrize("make", LANGCHAIN + LLAMAINDEX)
def test_a_key_of_the_wrong_type_is_named_by_its_type_only(make: Any) -> None:
    with pytest.raises(ValueError, match="SecretStr, got a list") as caught:
        make(api_key=["sk-pasted-into-a-list-123"], base_url="http://127.0.0.1:9")
    assert "sk-pasted-into-a-list-123" not in str(caught.value)


def _use(component: Any, video_nos: list[str]) -> None:
    if hasattr(component, "invoke"):  # LangChain
        if isinstance(component, langchain_mavi.MaviVideoChatTool):
            component.invoke({"question": "What happens?", "video_nos": video_nos})
        elif isinstance(component, langchain_mavi.MaviVideoRetriever):
            component.invoke("sunrise")
        else:
            component.invoke("What happens?")
    elif isinstance(component, llamaindex_mavi.MaviLLM):
        component.complete("What happens?")
    elif isinstance(component, llamaindex_mavi.MaviChatEngine):
        component.chat("What happens?")
    elif isinstance(component, llamaindex_mavi.MaviVideoRetriever):
        component.retrieve("sunrise")
    else:
        component.query("What happens?")


def test_both_adapters_name_their_mapping_helper_alike() -> None:
    assert callable(langchain_mavi.messages_to_request)
    assert callable(llamaindex_mavi.messages_to_request)


def test_the_adapters_helpers_are_not_in_mavi_cores_namespace() -> None:
    import mavi_core
    from mavi_core._adapters import conversation_to_chat

    with pytest.raises(AttributeError, match="conversation_to_chat"):
        mavi_core.conversation_to_chat  # noqa: B018  (never published: no shim)
    assert callable(conversation_to_chat)
    assert "conversation_to_chat" not in mavi_core.__all__
