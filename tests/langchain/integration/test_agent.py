"""MaviVideoChatTool inside `langchain.agents.create_agent`, over HTTP against the emulator.

The deciding model is the one fake allowed: a scripted tool caller that first asks
`mavi_video_chat` a question, then answers with what the tool returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool

from langchain_mavi import MaviVideoChatTool
from mavi_core.emulator import MaviEmulator

pytestmark = pytest.mark.integration

QUESTION = "What does the red tugboat do?"


class ScriptedToolCaller(BaseChatModel):
    """Calls `mavi_video_chat` once, then repeats the tool's answer as its final reply."""

    video_nos: list[str]

    @property
    def _llm_type(self) -> str:
        return "scripted-tool-caller"

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            reply = AIMessage(f"MAVI says: {last.content}")
        else:
            call = {"question": QUESTION, "video_nos": self.video_nos}
            reply = AIMessage(
                "", tool_calls=[{"name": "mavi_video_chat", "args": call, "id": "c1"}]
            )
        return ChatResult(generations=[ChatGeneration(message=reply)])


def build_agent(emu: MaviEmulator) -> Any:
    tool: BaseTool = MaviVideoChatTool(api_key=emu.api_key, base_url=emu.base_url)
    return create_agent(ScriptedToolCaller(video_nos=emu.video_nos[:1]), [tool])


def tool_message(messages: list[BaseMessage]) -> ToolMessage:
    return next(m for m in messages if isinstance(m, ToolMessage))


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
async def test_the_agent_gets_the_mavi_answer_into_its_final_state(
    emulator: MaviEmulator, how: str
) -> None:
    agent = build_agent(emulator)
    question = {"messages": [HumanMessage("What happens in the harbor video?")]}

    state = agent.invoke(question) if how == "invoke" else await agent.ainvoke(question)

    sent = [r.body for r in emulator.requests if r.path == "/api/serve/video/chat"]
    assert sent == [
        {"videoNos": emulator.video_nos[:1], "message": QUESTION, "history": [], "stream": True}
    ]
    answer = tool_message(state["messages"])
    assert answer.status == "success"
    assert "tugboat" in answer.text
    assert answer.artifact == {
        "question": QUESTION,
        "video_nos": emulator.video_nos[:1],
        "answer": answer.text,
    }
    assert state["messages"][-1].text == f"MAVI says: {answer.text}"


@pytest.mark.parametrize("how", ["stream", "astream"])
async def test_langgraph_messages_mode_streams_the_tools_tokens(
    emulator: MaviEmulator, how: str
) -> None:
    agent = build_agent(emulator)
    question = {"messages": [HumanMessage("What happens in the harbor video?")]}
    seen: list[tuple[Any, dict[str, Any]]] = []

    if how == "stream":
        seen.extend(agent.stream(question, stream_mode="messages"))
    else:
        seen.extend([item async for item in agent.astream(question, stream_mode="messages")])

    from_tool = [m for m, meta in seen if meta["langgraph_node"] == "tools"]
    tokens = [m for m in from_tool if isinstance(m, AIMessageChunk)]
    final = [m for m in from_tool if isinstance(m, ToolMessage)]
    assert len(tokens) > 3  # the answer arrives in pieces, not in one block
    assert tokens[-1].chunk_position == "last"
    assert "".join(chunk.text for chunk in tokens) == final[0].text


def test_a_failing_mavi_call_reaches_the_agent_as_an_error_result(emulator: MaviEmulator) -> None:
    emulator.faults.error_envelope("0403", "account disabled", times=10)
    agent = build_agent(emulator)

    state = agent.invoke({"messages": [HumanMessage("What happens?")]})

    answer = tool_message(state["messages"])
    assert answer.status == "error"
    assert "MAVI video chat failed" in answer.text
    assert "0403" in answer.text
