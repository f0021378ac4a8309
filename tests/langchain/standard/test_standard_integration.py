"""langchain-tests integration suites for ChatMavi, MaviVideoChatTool and MaviVideoRetriever,
over real HTTP against the local MAVI emulator (one per session, chat rate limit off)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import (
    ChatModelIntegrationTests,
    RetrieversIntegrationTests,
    ToolsIntegrationTests,
)

from langchain_mavi import ChatMavi, MaviVideoChatTool, MaviVideoRetriever
from mavi_core.emulator import MaviEmulator

pytestmark = pytest.mark.integration


class EmulatorParams:
    """Gives the suite's `*_params` properties the session emulator's address and videos."""

    emulator: MaviEmulator

    @pytest.fixture(autouse=True)
    def _attach_emulator(self, emulator: MaviEmulator) -> None:
        type(self).emulator = emulator

    def connection(self) -> dict[str, Any]:
        emu = self.emulator
        return {"video_nos": emu.video_nos[:1], "api_key": emu.api_key, "base_url": emu.base_url}


class TestChatMaviIntegration(EmulatorParams, ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatMavi

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return self.connection()

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


class TestChatMaviV12Integration(TestChatMaviIntegration):
    """The same suite with the v1.2 dialect: sessions, thinking and refs on every answer."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {**self.connection(), "api_version": "v1.2"}


class TestMaviVideoChatToolIntegration(EmulatorParams, ToolsIntegrationTests):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return MaviVideoChatTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return self.connection()

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"question": "What happens at the start of the video?"}


class TestMaviVideoRetrieverIntegration(EmulatorParams, RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return MaviVideoRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        connection = self.connection()
        return {"api_key": connection["api_key"], "base_url": connection["base_url"]}

    @property
    def retriever_query_example(self) -> str:
        return "water"  # matches moments in several sample videos (the suite asks for 3)
