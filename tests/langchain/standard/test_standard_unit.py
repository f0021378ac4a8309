"""langchain-tests unit suites for ChatMavi and MaviVideoChatTool (no network)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langchain_tests.unit_tests import ChatModelUnitTests, ToolsUnitTests

from langchain_mavi import ChatMavi, MaviVideoChatTool

SAMPLE_VIDEO = "VI634021587219364352"


class TestChatMaviUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatMavi

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"video_nos": [SAMPLE_VIDEO]}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"MAVI_API_KEY": "api_key", "MAVI_BASE_URL": "https://mavi.example"},
            {"video_nos": [SAMPLE_VIDEO]},
            {"api_key": "api_key", "base_url": "https://mavi.example"},
        )

    @property
    def returns_usage_metadata(self) -> bool:
        return False  # the MAVI chat reply carries no token counts

    @property
    def supports_video_inputs(self) -> bool:
        return True  # {"type": "video", "file_id": "<videoNo>"} blocks add videos to the request

    @property
    def supports_model_override(self) -> bool:
        return False  # the MAVI v1.0 chat has one model; `model=` is only reported in traces

    @property
    def has_tool_calling(self) -> bool:
        # ChatMavi overrides bind_tools only to explain that MAVI has none; the suite would
        # otherwise take the override for tool calling support.
        return False

    @property
    def has_structured_output(self) -> bool:
        return False  # with_structured_output likewise only explains that MAVI has none

    @pytest.mark.xfail(
        reason=(
            "langchain-core 1.8's load(allowed_objects='all') admits only the classes listed in "
            "langchain_core.load.mapping, which a third-party package cannot join without "
            "patching langchain-core. The snapshot part passes; the round trip is covered with "
            "allowed_objects=[ChatMavi] in unit/test_chat_model.py::"
            "test_a_serialized_model_loads_back_with_the_key_from_secrets"
        ),
        raises=ValueError,
        strict=True,
    )
    def test_serdes(self, model: BaseChatModel, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)


class TestMaviVideoChatToolUnit(ToolsUnitTests):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return MaviVideoChatTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"video_nos": [SAMPLE_VIDEO], "api_key": "test"}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"question": "What happens in the video?", "video_nos": [SAMPLE_VIDEO]}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"MAVI_API_KEY": "api_key", "MAVI_BASE_URL": "https://mavi.example"},
            {"video_nos": [SAMPLE_VIDEO]},
            {"api_key": "api_key", "base_url": "https://mavi.example"},
        )
