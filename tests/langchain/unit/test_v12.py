"""The v1.2 dialect in the LangChain adapter, without sockets: which messages a continued session
sends (pure), how refs and thinking become LangChain's own forms (a scripted v1.2 MAVI on
`httpx.MockTransport`), and how `api_version` reaches the clients.

The same behaviour over real HTTP is in `integration/test_v12_over_http.py`.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.messages import SystemMessage as System

from langchain_mavi import ChatMavi, MaviVideoChatTool, MaviVideoRetriever, messages_to_request
from mavi_core import AsyncMaviClient, MaviClient

KEY = "sk-langchain-v12-secret-0123456789"
SESSION = 7251846039218475520  # beyond 53 bits: must stay exact
REF = {  # one video and its moments, nested as documented (tests/data/wire_samples/v1.2/)
    "video": {"duration": "120", "video_no": "VI1", "video_name": "harbor.mp4"},
    "refItems": [
        {"videoNo": "VI1", "startTime": 12, "endTime": 30, "type": "visual_ts",
         "text": "A tugboat leaves."},
        {"videoNo": "VI1", "startTime": "21", "type": "keyframe"},
    ],
}  # fmt: skip
REF_EVENT = {"type": "ref", "ref": [REF]}
REFS = [
    {
        "video_no": "VI1",
        "video_name": "harbor.mp4",
        "start": 12.0,
        "end": 30.0,
        "kind": "visual_ts",
        "text": "A tugboat leaves.",
    },
    {
        "video_no": "VI1",
        "video_name": "harbor.mp4",
        "start": 21.0,
        "end": None,
        "kind": "keyframe",
        "text": "",
    },
]
REASONING = "**Reading**\n\nOne video.\n\n**Finding**\n\nOne moment."
CALLS = ["invoke", "ainvoke", "stream", "astream"]


def sse(value: Any) -> bytes:
    return b"data:" + json.dumps(value).encode() + b"\n\n"


class FakeV12:
    """A v1.2 MAVI: two thinking steps, one ref event, the answer in three pieces, "Done"."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        self.bodies.append(json.loads(request.read()))
        if request.url.path.endswith("/chat_stream"):
            events = [
                {"type": "thinking", "title": "Reading", "content": "One video."},
                {"type": "thinking", "title": "Finding", "content": "One moment."},
                REF_EVENT,
                *(
                    {"type": "content", "role": "assistant", "content": piece}
                    for piece in ["The ", "tug ", "leaves."]
                ),
            ]
            body = b"".join(sse({**event, "sessionId": str(SESSION)}) for event in events)
            return httpx.Response(200, content=body + sse("Done"))
        data = {
            "role": "ASSISTANT",
            "content": "The tug leaves.",
            "thinkings": [
                {"title": "Reading", "content": "One video."},
                {"title": "Finding", "content": "One moment."},
            ],
            "refs": [REF],
            "session_id": str(SESSION),
        }
        envelope = {"code": "0000", "msg": "success", "data": data}
        return httpx.Response(200, json={**envelope, "success": True, "failed": False})

    def model(self, **kwargs: Any) -> ChatMavi:
        transport = httpx.MockTransport(self)
        options: dict[str, Any] = {
            "api_key": KEY,
            "base_url": "https://mavi.test",
            "max_retries": 0,
            "api_version": "v1.2",
        }
        return ChatMavi(
            client=MaviClient(http_client=httpx.Client(transport=transport), **options),
            async_client=AsyncMaviClient(
                http_client=httpx.AsyncClient(transport=transport), **options
            ),
            video_nos=["VI1"],
            **kwargs,
        )


@pytest.fixture
def fake() -> FakeV12:
    return FakeV12()


async def answer(llm: ChatMavi, how: str, prompt: Any = "What happens?") -> tuple[Any, list[Any]]:
    """The merged answer, and the chunks when streamed."""
    if how == "invoke":
        return llm.invoke(prompt), []
    if how == "ainvoke":
        return await llm.ainvoke(prompt), []
    chunks = (
        list(llm.stream(prompt))
        if how == "stream"
        else [chunk async for chunk in llm.astream(prompt)]
    )
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return total, chunks


# --- which messages a continued session sends ----------------------------------------------


def answered(text: str, session_id: str | None = "123") -> AIMessage:
    metadata = {"session_id": session_id} if session_id else {}
    return AIMessage(text, response_metadata=metadata)


def request(messages: list[BaseMessage], **kwargs: Any) -> Any:
    return messages_to_request(messages, None, ["VI1"], continue_session=True, **kwargs)


def test_the_last_ai_message_with_a_session_continues_it_with_only_what_follows() -> None:
    sent = request(
        [
            System("Answer briefly."),
            HumanMessage("Where is this?"),
            answered("A harbor.", "111"),
            HumanMessage("Which boat?"),
            answered("The tug.", "222"),
            HumanMessage("When does it leave?"),
            HumanMessage("And where to?"),
        ]
    )
    assert (sent.session_id, sent.history) == ("222", [])
    # The system text went with the first turn: the session holds it.
    assert sent.message == "When does it leave?\n\nAnd where to?"


def test_a_system_message_after_the_session_goes_in_front_of_the_new_question() -> None:
    sent = request([HumanMessage("Hi"), answered("Hello."), System("Be brief."), HumanMessage("Q")])
    assert (sent.session_id, sent.message) == ("123", "Be brief.\n\nQ")


def test_turns_after_the_session_answered_elsewhere_are_folded_and_videos_come_from_all() -> None:
    sent = request(
        [
            HumanMessage(["Compare.", {"type": "video", "file_id": "VI2"}]),
            answered("They differ."),
            HumanMessage("Why?"),
            AIMessage("Written by hand, not by the service."),
            HumanMessage("Really?"),
        ]
    )
    assert (sent.session_id, sent.history) == ("123", [])
    assert sent.message == (
        "Conversation so far:\nUser: Why?\nAssistant: Written by hand, not by the service."
        "\n\nReally?"
    )
    assert sent.video_nos == ["VI1", "VI2"]


def test_a_conversation_ending_with_the_sessions_answer_has_no_question() -> None:
    with pytest.raises(ValueError, match="ends with an assistant message"):
        request([HumanMessage("Hi"), answered("Hello.")])
    with pytest.raises(ValueError, match="ends with an assistant message"):
        request([HumanMessage("Hi"), answered("Hello."), HumanMessage("Q"), AIMessage("A")])


def test_without_a_session_the_whole_conversation_is_sent_as_in_v1_0() -> None:
    messages = [HumanMessage("Hi"), answered("Hello.", None), HumanMessage("Q")]
    sent = request(messages)
    assert sent.session_id is None
    assert sent == messages_to_request(messages, None, ["VI1"])
    # v1.0 has no sessions: a session id in the conversation changes nothing there.
    with_session = [HumanMessage("Hi"), answered("Hello."), HumanMessage("Q")]
    assert messages_to_request(with_session, None, ["VI1"]).history[0].robot == "Hello."


# --- refs, session and thinking in LangChain's forms ---------------------------------------


@pytest.mark.parametrize("how", CALLS)
async def test_v0_output_has_reasoning_in_additional_kwargs_and_refs_in_metadata(
    fake: FakeV12, how: str
) -> None:
    message, chunks = await answer(fake.model(), how)

    assert message.content == "The tug leaves."
    assert message.additional_kwargs["reasoning_content"] == REASONING
    assert message.response_metadata["session_id"] == str(SESSION)
    assert message.response_metadata["refs"] == REFS  # once, also when merged from chunks
    assert fake.paths == ["/serve/api/v1/chat" + ("_stream" if chunks else "")]
    assert fake.bodies == [{"video_nos": ["VI1"], "prompt": "What happens?"}]
    # content_blocks (the "mavi" translator) gives the standard form of the same answer.
    reasoning, text = message.content_blocks
    assert reasoning == {"type": "reasoning", "reasoning": REASONING}
    assert text["text"] == "The tug leaves."
    assert [c["extras"] for c in text["annotations"]] == [
        {key: ref[key] for key in ("video_no", "start", "end", "kind")} for ref in REFS
    ]


@pytest.mark.parametrize("how", CALLS)
async def test_v1_output_is_a_reasoning_block_and_a_text_block_with_citations(
    fake: FakeV12, how: str
) -> None:
    message, _ = await answer(fake.model(output_version="v1"), how)

    reasoning, text = message.content
    assert {key: reasoning[key] for key in ("type", "reasoning")} == {
        "type": "reasoning",
        "reasoning": REASONING,
    }
    assert text["type"] == "text"
    assert text["text"] == message.text == "The tug leaves."
    assert text["annotations"][0] == {
        "type": "citation",
        "title": "harbor.mp4",
        "cited_text": "A tugboat leaves.",
        "extras": {"video_no": "VI1", "start": 12.0, "end": 30.0, "kind": "visual_ts"},
    }
    assert len(text["annotations"]) == 2
    assert "url" not in text["annotations"][0]
    assert "reasoning_content" not in message.additional_kwargs  # said once, as a block
    assert message.response_metadata["refs"] == REFS


@pytest.mark.parametrize("output_version", [None, "v1"])
def test_thinking_streams_first_as_chunks_with_reasoning_and_no_text(
    fake: FakeV12, output_version: str | None
) -> None:
    chunks = list(fake.model(output_version=output_version).stream("What happens?"))

    first, second = chunks[:2]
    assert (first.text, second.text) == ("", "")
    assert [block["type"] for block in first.content_blocks] == ["reasoning"]
    assert chunks[2].text == "The "
    last = chunks[-1]
    assert last.chunk_position == "last"
    assert last.response_metadata["refs"] == REFS
    assert all("refs" not in chunk.response_metadata for chunk in chunks[:-1])


def test_a_stream_stopped_by_a_stop_sequence_still_reports_its_refs_and_session(
    fake: FakeV12,
) -> None:
    chunks = list(fake.model().stream("What happens?", stop=["tug"]))
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.text == "The "
    assert total.response_metadata["session_id"] == str(SESSION)
    assert total.response_metadata["stop_sequence"] == "tug"
    assert len(total.response_metadata["refs"]) == 2


def test_the_next_turn_sends_the_session_as_an_exact_integer(fake: FakeV12) -> None:
    llm = fake.model()
    first = llm.invoke("Where is this?")
    merged = AIMessageChunk(content="")
    for chunk in llm.stream([HumanMessage("Where is this?"), first, HumanMessage("Then?")]):
        merged += chunk
    llm.invoke([HumanMessage("Where is this?"), first, HumanMessage("Then?"), merged, "Why?"])

    assert fake.bodies[1:] == [
        {"video_nos": ["VI1"], "prompt": "Then?", "session_id": SESSION},
        {"video_nos": ["VI1"], "prompt": "Why?", "session_id": SESSION},
    ]


def test_an_injected_v1_2_client_decides_the_dialect(fake: FakeV12) -> None:
    llm = fake.model()
    assert llm.api_version is None  # the clients were built with api_version="v1.2"
    assert llm.invoke("What happens?").response_metadata["session_id"] == str(SESSION)


# --- api_version on every component --------------------------------------------------------


def test_every_component_hands_api_version_to_its_clients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MAVI_API_VERSION", raising=False)
    monkeypatch.delenv("MAVI_BASE_URL", raising=False)
    for component in (
        ChatMavi(api_key=KEY, api_version="v1.2"),
        MaviVideoChatTool(api_key=KEY, api_version="v1.2"),
        MaviVideoRetriever(api_key=KEY, api_version="v1.2"),
    ):
        client = component._get_client()
        assert (client.api_version, client.base_url) == ("v1.2", "https://api.memories.ai")
    tool = MaviVideoChatTool(api_key=KEY, api_version="v1.2")
    assert tool.llm is not None and tool.llm._get_client().api_version == "v1.2"
    assert ChatMavi(api_key=KEY)._get_client().api_version == "v1.0"  # the default


def test_api_version_none_reads_mavi_api_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAVI_API_VERSION", "v1.2")
    llm = ChatMavi(api_key=KEY, api_version=None)
    assert llm.api_version == "v1.2"
    assert llm._get_async_client().api_version == "v1.2"
    assert ChatMavi(api_key=KEY, api_version="v1.0")._get_client().api_version == "v1.0"


def test_the_profile_says_reasoning_only_for_v1_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAVI_API_VERSION", raising=False)
    assert ChatMavi(api_version="v1.2").profile == {
        **(ChatMavi().profile or {}),
        "reasoning_output": True,
    }
    assert (ChatMavi().profile or {})["reasoning_output"] is False


def test_the_tool_puts_the_refs_and_session_in_its_artifact_and_keeps_no_session(
    fake: FakeV12,
) -> None:
    tool = MaviVideoChatTool(llm=fake.model())
    call = {"name": "mavi_video_chat", "id": "call-1", "type": "tool_call"}
    first = tool.invoke({**call, "args": {"question": "What happens?"}})
    tool.invoke({**call, "args": {"question": "And then?"}})

    assert first.content == "The tug leaves."
    assert first.artifact == {
        "question": "What happens?",
        "video_nos": ["VI1"],
        "answer": "The tug leaves.",
        "refs": REFS,
        "session_id": str(SESSION),
    }
    assert [body.get("session_id") for body in fake.bodies] == [None, None]
