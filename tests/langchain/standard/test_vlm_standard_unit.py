"""langchain-tests unit suite for ChatMaviVLM (no network)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_mavi import ChatMaviVLM


class TestChatMaviVLMUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatMaviVLM

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "gemini:gemini-2.5-flash"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"MAVI_API_KEY": "api_key", "MAVI_BASE_URL": "https://mavi.example"},
            {"model": "qwen:qwen3-vl-plus"},
            {"api_key": "api_key", "base_url": "https://mavi.example"},
        )

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @property
    def supports_video_inputs(self) -> bool:
        return True

    @property
    def supports_model_override(self) -> bool:
        return True  # model= per call, provider prefix included

    @property
    def has_tool_calling(self) -> bool:
        return False  # bind_tools only explains what to use instead

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def structured_output_kwargs(self) -> dict[str, Any]:
        return {"method": "json_schema"}

    @pytest.mark.xfail(
        reason=(
            "langchain-core's load(allowed_objects='all') admits only the classes listed in "
            "langchain_core.load.mapping, which a third-party package cannot join (as for "
            "ChatMavi in test_standard_unit.py); the snapshot part passes."
        ),
        raises=ValueError,
        strict=True,
    )
    def test_serdes(self, model: BaseChatModel, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)
