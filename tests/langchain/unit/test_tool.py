"""MaviVideoChatTool against a scripted MAVI: its schema, what it sends, what it returns, how it
fails, and that the answer's tokens reach callbacks nested under the tool run."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from langchain_core.callbacks import (
    AsyncCallbackManagerForToolRun,
    BaseCallbackHandler,
    CallbackManagerForToolRun,
)
from langchain_core.load import dumps
from langchain_core.messages import ToolMessage
from langchain_core.tools import ToolException

from langchain_mavi import MaviVideoChatTool
from langchain_mavi.errors import ChatMaviRateLimitError

ANSWER = "The harbor wakes at dawn."


def tool_call(**args: Any) -> dict[str, Any]:
    return {"name": "mavi_video_chat", "args": args, "id": "call-1", "type": "tool_call"}


async def run(tool: MaviVideoChatTool, how: str, value: Any, **kwargs: Any) -> Any:
    if how == "invoke":
        return tool.invoke(value, **kwargs)
    return await tool.ainvoke(value, **kwargs)


@pytest.fixture
def tool(mavi: Any) -> MaviVideoChatTool:
    return MaviVideoChatTool(video_nos=["VI1"], llm=mavi.chat_model(video_nos=[]))


class RunRecorder(BaseCallbackHandler):
    run_inline = True

    def __init__(self) -> None:
        self.tool_runs: list[UUID] = []
        self.model_parents: list[UUID | None] = []
        self.tokens: list[str] = []

    def on_tool_start(self, serialized: Any, input_str: str, *, run_id: UUID, **_: Any) -> None:
        self.tool_runs.append(run_id)

    def on_chat_model_start(
        self,
        serialized: Any,
        messages: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **_: Any,
    ) -> None:
        self.model_parents.append(parent_run_id)

    def on_llm_new_token(self, token: Any, *, chunk: Any = None, **_: Any) -> None:
        assert chunk is not None
        self.tokens.append(token)


def test_the_schema_an_agent_sees() -> None:
    tool = MaviVideoChatTool(api_key="k")
    schema = tool.tool_call_schema.model_json_schema()  # type: ignore[union-attr]

    assert tool.name == "mavi_video_chat"
    assert set(schema["properties"]) == {"question", "video_nos"}
    assert schema["required"] == ["question"]
    assert tool.response_format == "content_and_artifact"
    assert "video" in tool.description


def test_the_description_names_the_default_videos() -> None:
    assert (
        "Default videos: VI1, VI2."
        in MaviVideoChatTool(api_key="k", video_nos=["VI1", "VI2"]).description
    )
    assert "Default videos" not in MaviVideoChatTool(api_key="k").description


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
async def test_a_tool_call_returns_the_answer_and_an_artifact(
    mavi: Any, tool: MaviVideoChatTool, how: str
) -> None:
    message = await run(tool, how, tool_call(question="What happens?"))

    assert isinstance(message, ToolMessage)
    assert message.content == ANSWER
    assert message.status == "success"
    assert message.artifact == {"question": "What happens?", "video_nos": ["VI1"], "answer": ANSWER}
    assert mavi.sent == [
        {"videoNos": ["VI1"], "message": "What happens?", "history": [], "stream": True}
    ]


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
async def test_plain_arguments_return_the_answer_text(tool: MaviVideoChatTool, how: str) -> None:
    assert await run(tool, how, {"question": "What happens?"}) == ANSWER


@pytest.mark.parametrize(
    ("call_videos", "tool_videos", "model_videos", "sent"),
    [
        pytest.param(["VI9"], ["VI1"], ["VI0"], ["VI9"], id="the call's videos first"),
        pytest.param(None, ["VI1"], ["VI0"], ["VI1"], id="then the tool's"),
        pytest.param([], ["VI1"], ["VI0"], ["VI1"], id="an empty list counts as none"),
        pytest.param(None, None, ["VI0"], ["VI0"], id="then the model's"),
    ],
)
def test_which_videos_are_asked_about(
    mavi: Any,
    call_videos: list[str] | None,
    tool_videos: list[str] | None,
    model_videos: list[str],
    sent: list[str],
) -> None:
    tool = MaviVideoChatTool(video_nos=tool_videos, llm=mavi.chat_model(video_nos=model_videos))
    args: dict[str, Any] = {"question": "q"}
    if call_videos is not None:
        args["video_nos"] = call_videos

    tool.invoke(args)

    assert mavi.sent[0]["videoNos"] == sent


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param({"question": "  "}, "question is empty", id="blank question"),
        pytest.param({"question": "q", "video_nos": [""]}, "video_nos[0]", id="blank video"),
    ],
)
async def test_bad_input_raises_a_tool_exception_that_says_what_to_fix(
    mavi: Any, how: str, args: dict[str, Any], words: str
) -> None:
    tool = MaviVideoChatTool(handle_tool_error=False, llm=mavi.chat_model(video_nos=["VI1"]))

    with pytest.raises(ToolException) as caught:
        await run(tool, how, args)

    assert words in str(caught.value)
    assert mavi.requests == []


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
async def test_no_videos_anywhere_is_reported_to_the_agent(mavi: Any, how: str) -> None:
    tool = MaviVideoChatTool(llm=mavi.chat_model(video_nos=[]))

    message = await run(tool, how, tool_call(question="What happens?"))

    assert message.status == "error"
    assert "No video to ask about: pass `video_nos`" in message.content
    assert mavi.requests == []


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
async def test_a_mavi_error_is_reported_to_the_agent_as_the_tool_result(
    mavi: Any, tool: MaviVideoChatTool, how: str
) -> None:
    mavi.reply_with(200, b'{"code": "0429", "msg": "Request has exceeded the limit."}')

    message = await run(tool, how, tool_call(question="What happens?"))

    assert message.status == "error"
    assert message.content.startswith("MAVI video chat failed: MAVI answered code 0429")
    assert message.artifact is None


def test_with_handle_tool_error_off_a_mavi_error_raises_with_its_cause(mavi: Any) -> None:
    mavi.reply_with(200, b'{"code": "0429", "msg": "Request has exceeded the limit."}')
    tool = MaviVideoChatTool(
        video_nos=["VI1"], handle_tool_error=False, llm=mavi.chat_model(video_nos=[])
    )

    with pytest.raises(ToolException) as caught:
        tool.invoke({"question": "q"})

    assert isinstance(caught.value.__cause__, ChatMaviRateLimitError)


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
async def test_the_answer_streams_to_callbacks_nested_under_the_tool_run(
    tool: MaviVideoChatTool, how: str
) -> None:
    recorder = RunRecorder()

    await run(tool, how, tool_call(question="q"), config={"callbacks": [recorder]})

    assert recorder.tokens == ["The harbor ", "wakes ", "at dawn.", ""]
    assert recorder.model_parents == recorder.tool_runs


async def test_astream_events_show_the_tools_tokens(tool: MaviVideoChatTool) -> None:
    events = [e async for e in tool.astream_events(tool_call(question="q"), version="v2")]

    tool_run = next(e["run_id"] for e in events if e["event"] == "on_tool_start")
    tokens = [e for e in events if e["event"] == "on_chat_model_stream"]
    assert [e["data"]["chunk"].content for e in tokens] == ["The harbor ", "wakes ", "at dawn.", ""]
    assert all(tool_run in e["parent_ids"] for e in tokens)
    end = next(e for e in events if e["event"] == "on_tool_end")
    assert end["data"]["output"].content == ANSWER


def test_the_tools_key_is_in_no_repr_or_serialized_form() -> None:
    secret = "sk-tool-secret-value-7"
    tool = MaviVideoChatTool(video_nos=["VI1"], api_key=secret)

    for text in (repr(tool), str(tool), dumps(tool)):
        assert secret not in text
    assert secret not in repr(tool.llm)


def test_a_tool_built_from_fields_configures_its_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAVI_API_KEY", raising=False)
    tool = MaviVideoChatTool(api_key="sk-t", base_url="https://mavi.test", timeout=5, max_retries=0)

    assert tool.llm is not None
    assert tool.llm.api_key.get_secret_value() == "sk-t"
    assert (tool.llm.base_url, tool.llm.timeout, tool.llm.max_retries) == (
        "https://mavi.test",
        5,
        0,
    )


@pytest.mark.parametrize("how", ["run", "arun"])
async def test_the_tool_hands_its_run_managers_child_callbacks_to_the_model(
    tool: MaviVideoChatTool, how: str
) -> None:
    recorder = RunRecorder()
    run_id = uuid4()
    if how == "run":
        manager = CallbackManagerForToolRun(
            run_id=run_id, handlers=[recorder], inheritable_handlers=[recorder]
        )
        tool._run("q", run_manager=manager)
    else:
        async_manager = AsyncCallbackManagerForToolRun(
            run_id=run_id, handlers=[recorder], inheritable_handlers=[recorder]
        )
        await tool._arun("q", run_manager=async_manager)

    assert recorder.model_parents == [run_id]
    assert recorder.tokens == ["The harbor ", "wakes ", "at dawn.", ""]


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
@pytest.mark.parametrize(
    ("video_nos", "sent"),
    [
        pytest.param("VI123", ["VI123"], id="one string is one video"),
        pytest.param("VI1,VI2", ["VI1", "VI2"], id="comma-separated"),
        pytest.param(" VI1 , VI2 ", ["VI1", "VI2"], id="with spaces"),
        pytest.param('["VI1", "VI2"]', ["VI1", "VI2"], id="a JSON array as text"),
        pytest.param("", ["VI0"], id="blank means the defaults"),
    ],
)
async def test_an_agent_passing_video_nos_as_one_string_is_understood(
    mavi: Any, how: str, video_nos: str, sent: list[str]
) -> None:
    tool = MaviVideoChatTool(llm=mavi.chat_model(video_nos=["VI0"]))

    message = await run(tool, how, tool_call(question="q", video_nos=video_nos))

    assert message.status == "success", message.content
    assert mavi.sent[0]["videoNos"] == sent
    assert message.artifact["video_nos"] == sent


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
@pytest.mark.parametrize("video_nos", [123, {"id": "VI1"}, [7]])
async def test_video_nos_of_another_shape_is_a_result_saying_to_pass_a_list(
    mavi: Any, how: str, video_nos: Any
) -> None:
    tool = MaviVideoChatTool(llm=mavi.chat_model(video_nos=["VI0"]))

    message = await run(tool, how, tool_call(question="q", video_nos=video_nos))

    assert isinstance(message, ToolMessage) and message.status == "error"
    assert "The arguments of mavi_video_chat were not valid (video_nos" in message.content
    assert '"video_nos": ["<videoNo>", ...]' in message.content
    assert "pydantic" not in message.content and "errors.pydantic.dev" not in message.content
    assert mavi.requests == []
