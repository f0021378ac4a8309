"""`as_tool()` inside agents, routers and sub-question engines, built from a streaming engine.

The only fakes are the deciders LlamaIndex asks to choose: a scripted function-calling LLM, a
scripted question generator and a scripted selector. Every MAVI call goes to the emulator. A
tool that handed an `AsyncStreamingResponse` to `QueryEngineTool.acall` would hang; the
timeouts turn such a hang into a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent, ReActAgent
from llama_index.core.base.base_selector import BaseSelector, SelectorResult, SingleSelection
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.llms import MockLLM
from llama_index.core.llms.mock import MockFunctionCallingLLM
from llama_index.core.query_engine import RouterQueryEngine, SubQuestionQueryEngine
from llama_index.core.question_gen.types import BaseQuestionGenerator, SubQuestion
from llama_index.core.response_synthesizers import ResponseMode, get_response_synthesizer
from llama_index.core.schema import QueryBundle
from llama_index.core.tools import QueryEngineTool, ToolMetadata

from llamaindex_mavi import DEFAULT_TOOL_NAME, MaviQueryBundle

QUESTION = "What happens in the video?"
pytestmark = pytest.mark.timeout(30)
# The agents' workflow package inspects pydantic models with `inspect.getmembers`.
quiet_workflows = pytest.mark.filterwarnings(
    "ignore::pydantic.warnings.PydanticDeprecatedSince20",
    "ignore::pydantic.warnings.PydanticDeprecatedSince211",
)


def tool_calling_llm(tool_name: str, question: str) -> MockFunctionCallingLLM:
    """Calls `tool_name` with `question`, then answers with what the tool returned."""

    def respond(messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        tool_results = [m for m in messages if m.role == MessageRole.TOOL]
        if tool_results:
            answer = f"From the video: {tool_results[-1].content}"
            return ChatMessage(role="assistant", content=answer)
        call = ToolCallBlock(
            tool_call_id="call-1", tool_name=tool_name, tool_kwargs={"input": question}
        )
        return ChatMessage(role="assistant", blocks=[call])

    return MockFunctionCallingLLM(response_generator=respond)


def react_llm(tool_name: str, question: str) -> MockFunctionCallingLLM:
    """Writes a ReAct action for `tool_name`, then answers with the observation."""

    def respond(messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        observations = [
            m.content for m in messages if m.content and m.content.startswith("Observation:")
        ]
        if observations:
            observation = observations[-1].removeprefix("Observation:").strip()
            text = f"Thought: I can answer without using any more tools.\nAnswer: {observation}"
        else:
            text = (
                f"Thought: I need to ask the video.\nAction: {tool_name}\n"
                f'Action Input: {{"input": "{question}"}}'
            )
        return ChatMessage(role="assistant", content=text)

    return MockFunctionCallingLLM(response_generator=respond)


class ScriptedQuestions(BaseQuestionGenerator):
    """Splits every query into the given sub-questions."""

    def __init__(self, sub_questions: list[SubQuestion]) -> None:
        self.sub_questions = sub_questions

    def generate(self, tools: Sequence[ToolMetadata], query: QueryBundle) -> list[SubQuestion]:
        return self.sub_questions

    async def agenerate(
        self, tools: Sequence[ToolMetadata], query: QueryBundle
    ) -> list[SubQuestion]:
        return self.sub_questions

    def _get_prompts(self) -> dict[str, Any]:
        return {}

    def _update_prompts(self, prompts: Any) -> None:
        pass


class ScriptedSelector(BaseSelector):
    """Always selects the choice at `index`."""

    def __init__(self, index: int) -> None:
        self.index = index

    def _select(self, choices: Sequence[ToolMetadata], query: QueryBundle) -> SelectorResult:
        return SelectorResult(selections=[SingleSelection(index=self.index, reason="scripted")])

    async def _aselect(self, choices: Sequence[ToolMetadata], query: QueryBundle) -> SelectorResult:
        return self._select(choices, query)

    def _get_prompts(self) -> dict[str, Any]:
        return {}

    def _update_prompts(self, prompts: Any) -> None:
        pass


def test_as_tool_builds_a_query_engine_tool_with_the_given_name_and_description(make_engine):
    tool = make_engine().as_tool(name="kitchen", description="Questions about the kitchen video.")

    assert isinstance(tool, QueryEngineTool)
    assert (tool.metadata.name, tool.metadata.description) == (
        "kitchen",
        "Questions about the kitchen video.",
    )


def test_as_tool_has_a_default_name(make_engine):
    assert make_engine().as_tool().metadata.name == DEFAULT_TOOL_NAME


def test_the_tool_of_a_streaming_engine_returns_the_whole_answer_when_called(
    make_engine, expected_answer, videos, emulator
):
    tool = make_engine(streaming=True).as_tool()

    output = tool.call(input=QUESTION)

    assert output.content == expected_answer(videos[:1], QUESTION)


async def test_the_tool_of_a_streaming_engine_returns_the_whole_answer_when_awaited(
    make_engine, expected_answer, videos
):
    tool = make_engine(streaming=True).as_tool()

    output = await tool.acall(input=QUESTION)

    assert output.content == expected_answer(videos[:1], QUESTION)


def test_as_tool_leaves_the_streaming_engine_streaming(make_engine):
    engine = make_engine(streaming=True)

    engine.as_tool()

    assert engine.streaming is True


@quiet_workflows
async def test_a_function_agent_calls_the_tool_and_gets_the_whole_answer(
    make_engine, expected_answer, videos, emulator
):
    tool = make_engine(streaming=True).as_tool()
    agent = FunctionAgent(tools=[tool], llm=tool_calling_llm(tool.metadata.name, QUESTION))

    result = await agent.run(user_msg="Tell me about the video.")

    assert emulator.requests[-1].body["message"] == QUESTION
    assert result.response.content == f"From the video: {expected_answer(videos[:1], QUESTION)}"


@quiet_workflows
async def test_a_react_agent_calls_the_tool_and_gets_the_whole_answer(
    make_engine, expected_answer, videos, emulator
):
    tool = make_engine(streaming=True).as_tool()
    agent = ReActAgent(tools=[tool], llm=react_llm(tool.metadata.name, QUESTION))

    result = await agent.run(user_msg="Tell me about the video.")

    assert emulator.requests[-1].body["message"] == QUESTION
    assert result.response.content == expected_answer(videos[:1], QUESTION)


def sub_question_engine(tools: list[QueryEngineTool], *, use_async: bool) -> SubQuestionQueryEngine:
    # MockLLM echoes its prompt, so the final answer shows what the sub-answers were.
    return SubQuestionQueryEngine(
        question_gen=ScriptedQuestions(
            [
                SubQuestion(sub_question="Who is in the harbor video?", tool_name="harbor"),
                SubQuestion(sub_question="What is cooked?", tool_name="kitchen"),
            ]
        ),
        response_synthesizer=get_response_synthesizer(
            llm=MockLLM(), response_mode=ResponseMode.SIMPLE_SUMMARIZE
        ),
        query_engine_tools=tools,
        use_async=use_async,
        verbose=False,
    )


@pytest.mark.parametrize(("mode", "use_async"), [("sync", False), ("sync", True), ("async", True)])
async def test_a_sub_question_engine_gets_whole_answers_from_streaming_engines(
    mode, use_async, make_engine, expected_answer, videos
):
    harbor = make_engine(video_nos=videos[:1], streaming=True).as_tool(name="harbor")
    kitchen = make_engine(video_nos=videos[1:2], streaming=True).as_tool(name="kitchen")
    engine = sub_question_engine([harbor, kitchen], use_async=use_async)

    if mode == "sync":
        response = engine.query(QUESTION)  # with use_async, LlamaIndex runs a fresh event loop
    else:
        response = await engine.aquery(QUESTION)

    sub_answers = [node.node.get_content() for node in response.source_nodes]
    assert sub_answers == [
        "Sub question: Who is in the harbor video?\nResponse: "
        + expected_answer(videos[:1], "Who is in the harbor video?"),
        "Sub question: What is cooked?\nResponse: "
        + expected_answer(videos[1:2], "What is cooked?"),
    ]


def router_engine(tools: list[QueryEngineTool], *, select: int) -> RouterQueryEngine:
    return RouterQueryEngine(
        selector=ScriptedSelector(select), query_engine_tools=tools, llm=MockLLM()
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_router_sends_the_query_to_the_selected_streaming_engine(
    mode, make_engine, expected_answer, videos, emulator
):
    tools = [
        make_engine(video_nos=videos[:1], streaming=True).as_tool(name="harbor"),
        make_engine(video_nos=videos[1:2], streaming=True).as_tool(name="kitchen"),
    ]
    router = router_engine(tools, select=1)

    response = router.query(QUESTION) if mode == "sync" else await router.aquery(QUESTION)

    assert emulator.requests[-1].body["videoNos"] == videos[1:2]
    assert str(response) == expected_answer(videos[1:2], QUESTION)
    assert response.metadata["selector_result"].ind == 1


async def test_a_router_passes_a_mavi_query_bundle_through_to_the_engine(
    make_engine, emulator, videos
):
    tools = [make_engine(streaming=True).as_tool(name="videos")]
    router = router_engine(tools, select=0)

    await router.aquery(MaviQueryBundle(QUESTION, video_nos=videos[4:6]))

    assert emulator.requests[-1].body["videoNos"] == videos[4:6]
