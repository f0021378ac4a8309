"""Adapter components' options are checked when the component is built
(docs/errors-and-wire.md "Errors":
"An argument of the wrong type fails when the client, the credentials or the component is
built, not at the first request"), and no message quotes a secret."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("llama_index.core")

from langchain_mavi import ChatMavi, MaviRateLimiter, MaviVideoChatTool
from langchain_mavi import MaviVideoRetriever as LangChainRetriever
from llamaindex_mavi import MaviChatEngine, MaviLLM, MaviQueryEngine
from llamaindex_mavi import MaviVideoRetriever as LlamaIndexRetriever
from mavi_core import MaviValidationError

SECRET = "s3cr3t-redis-password"
BASE = {"base_url": "http://127.0.0.1:1", "api_key": "sk-review-key-0123456789"}

COMPONENTS: dict[str, Callable[..., Any]] = {
    "ChatMavi": lambda **kw: ChatMavi(video_nos=["VI1"], **BASE, **kw),
    "MaviVideoChatTool": lambda **kw: MaviVideoChatTool(video_nos=["VI1"], **BASE, **kw),
    "LangChain MaviVideoRetriever": lambda **kw: LangChainRetriever(**BASE, **kw),
    "MaviLLM": lambda **kw: MaviLLM(video_nos=["VI1"], **BASE, **kw),
    "MaviQueryEngine": lambda **kw: MaviQueryEngine(video_nos=["VI1"], **BASE, **kw),
    "MaviChatEngine": lambda **kw: MaviChatEngine(video_nos=["VI1"], **BASE, **kw),
    "LlamaIndex MaviVideoRetriever": lambda **kw: LlamaIndexRetriever(**BASE, **kw),
}


@pytest.mark.parametrize("component", list(COMPONENTS))
@pytest.mark.parametrize(
    "rate_limit", [5, f"redis+sentinel://:{SECRET}@127.0.0.1:26379/0"], ids=["int", "bad-url"]
)
def test_rate_limit_is_checked_when_the_component_is_built(component: str, rate_limit: Any) -> None:
    """Today every component accepts rate_limit=5 or an unusable store URL, and fails at the
    first request (the URL's password then quoted in the error)."""
    with pytest.raises(ValueError, match="rate_limit") as caught:
        COMPONENTS[component](rate_limit=rate_limit)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "component", ["ChatMavi", "MaviVideoChatTool", "LangChain MaviVideoRetriever"]
)
def test_an_unknown_api_version_is_refused_when_built(component: str) -> None:
    """LlamaIndex components refuse api_version='v2' when built; LangChain's accept it."""
    with pytest.raises(ValueError, match="api_version"):
        COMPONENTS[component](api_version="v2")


@pytest.mark.parametrize("component", ["MaviLLM", "MaviQueryEngine", "MaviChatEngine"])
def test_default_headers_not_a_mapping_is_refused_when_built(component: str) -> None:
    """MaviClient(default_headers=[...]) is a MaviValidationError; LlamaIndex components
    accept a list of pairs and fail later."""
    with pytest.raises(MaviValidationError):
        COMPONENTS[component](default_headers=[("X-Team", "video")])


def test_mavi_rate_limiter_refuses_a_bad_backend_without_its_password() -> None:
    with pytest.raises(ValueError, match="backend") as caught:
        MaviRateLimiter(f"redis+sentinel://:{SECRET}@127.0.0.1:26379/0")
    assert SECRET not in str(caught.value)


def test_mavi_rate_limiter_api_key_of_the_wrong_type_is_a_validation_error() -> None:
    """Today: AttributeError: 'list' object has no attribute 'encode'."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="api_key"):
            MaviRateLimiter(api_key=["sk-pasted-into-a-list"])  # type: ignore[arg-type]


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


@pytest.mark.parametrize(
    "window", [-1, 0, "60", float("nan")], ids=["negative", "zero", "str", "nan"]
)
def test_the_readers_window_is_checked_as_a_validation_error(window: Any) -> None:
    """MaviTranscriptReader(window_seconds="60") raised TypeError "'<=' not supported", and
    NaN passed; the LangChain loader refuses them through pydantic."""
    from llamaindex_mavi import MaviTranscriptReader

    with pytest.raises(MaviValidationError, match="window_seconds must be positive"):
        MaviTranscriptReader(["VI1"], window_seconds=window)
