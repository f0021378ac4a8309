"""The connection fields every LangChain component shares: `api_key=None` and `base_url=None`
mean "read the environment", as they do for `MaviClient` and the LlamaIndex engines."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.exceptions import ModelAuthenticationError
from pydantic import SecretStr

from langchain_mavi import ChatMavi, MaviVideoChatTool, MaviVideoRetriever
from mavi_core import MaviAuthenticationError

COMPONENTS = [ChatMavi, MaviVideoChatTool, MaviVideoRetriever]


@pytest.mark.parametrize("component", COMPONENTS)
def test_api_key_none_reads_the_key_from_the_environment(
    component: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAVI_API_KEY", "sk-from-env")
    monkeypatch.setenv("MAVI_BASE_URL", "https://mavi.env")

    built = component(api_key=None, base_url=None)

    assert isinstance(built.api_key, SecretStr)
    assert built.api_key.get_secret_value() == "sk-from-env"
    assert built.base_url == "https://mavi.env"


@pytest.mark.parametrize("component", COMPONENTS)
def test_api_key_none_without_environment_builds_and_has_no_key(
    component: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAVI_API_KEY", raising=False)

    assert component(api_key=None).api_key is None
    assert component().api_key is None


def test_a_model_without_any_key_fails_at_request_time_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MAVI_API_KEY", raising=False)
    llm = ChatMavi(api_key=None, base_url="http://127.0.0.1:9", video_nos=["VI1"])

    with pytest.raises(MaviAuthenticationError, match="MAVI_API_KEY") as caught:
        llm.invoke("What happens?")
    assert isinstance(caught.value, ModelAuthenticationError)
