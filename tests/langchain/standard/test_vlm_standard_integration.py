"""langchain-tests integration suite for ChatMaviVLM, over real HTTP against the local MAVI
emulator (one per session), for a Gemini and a Qwen model (the two reply shapes' providers
that take images and schemas) and a Nova model (the other reply shape)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_mavi import ChatMaviVLM
from mavi_core.emulator import MaviEmulator

pytestmark = pytest.mark.integration

_real_get = httpx.get


class _VlmParams:
    vlm_model = "gemini:gemini-2.5-flash"
    emulator: MaviEmulator

    @pytest.fixture(autouse=True)
    def _attach_emulator(self, emulator: MaviEmulator) -> Iterator[None]:
        type(self).emulator = emulator
        # The suite downloads a sample image with httpx.get; tests stay on loopback, so the
        # emulator's own media stands in for it (the bytes only travel as base64).
        media = emulator.video_urls[0]

        def local_get(url: Any, *args: Any, **kwargs: Any) -> httpx.Response:
            return _real_get(media, *args, **kwargs)

        httpx.get = local_get  # type: ignore[assignment]
        try:
            yield
        finally:
            httpx.get = _real_get

    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatMaviVLM

    @property
    def chat_model_params(self) -> dict[str, Any]:
        emu = self.emulator
        return {"model": self.vlm_model, "api_key": emu.api_key, "base_url": emu.base_url}

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supports_video_inputs(self) -> bool:
        return True

    @property
    def has_tool_calling(self) -> bool:
        return False  # bind_tools only explains what to use instead

    @property
    def supports_model_override(self) -> bool:
        return True  # model= per call, provider prefix included

    @property
    def model_override_value(self) -> str:
        return self.vlm_model.partition(":")[0] + ":another-model"


class TestChatMaviVLMGeminiIntegration(_VlmParams, ChatModelIntegrationTests):
    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def structured_output_kwargs(self) -> dict[str, Any]:
        return {"method": "json_schema"}


class TestChatMaviVLMQwenIntegration(TestChatMaviVLMGeminiIntegration):
    vlm_model = "qwen:qwen3-vl-plus"


class TestChatMaviVLMNovaIntegration(_VlmParams, ChatModelIntegrationTests):
    """Nova's reply shape (choices[].message, usage.output_token) and its tool calling; no
    images, no schema."""

    vlm_model = "nova:us.amazon.nova-lite-v1:0"

    @property
    def has_structured_output(self) -> bool:
        return False  # the API documents no response schema for Nova

    @property
    def has_tool_calling(self) -> bool:
        return True  # Nova's toolConfig (the reply's form is read tolerantly)

    @property
    def has_tool_choice(self) -> bool:
        return False  # the API documents none
