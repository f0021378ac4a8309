"""The v1.2 dialect through LlamaIndex, over the emulator: answers with their cited moments as
source nodes, sessions the service holds, thinking and citation blocks (docs/v1.2.md;
docs/llamaindex-query-engine.md)."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    CitationBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
)
from llama_index.core.base.response.schema import AsyncStreamingResponse, StreamingResponse

from llamaindex_mavi import MaviChatEngine, MaviLLM, MaviQueryEngine, MaviVideoRetriever
from llamaindex_mavi._refs import describe_ref, ref_nodes
from mavi_core import ChatAnswer, MaviClient, MaviError, MaviInvalidRequestError, VideoRef
from mavi_core.emulator import MaviEmulator

MODES = ["sync", "async"]
QUESTION = "What does the red tugboat do?"
CHAT = "/serve/api/v1/chat"
CHAT_STREAM = "/serve/api/v1/chat_stream"


@pytest.fixture
def v12(emulator: MaviEmulator) -> dict[str, Any]:
    return {
        "api_key": emulator.api_key,
        "base_url": emulator.base_url,
        "api_version": "v1.2",
        "video_nos": emulator.video_nos[:1],
    }


@pytest.fixture
def oracle(emulator: MaviEmulator) -> ChatAnswer:
    """The v1.2 answer to QUESTION, asked directly through mavi_core."""
    with MaviClient(emulator.api_key, base_url=emulator.base_url, api_version="v1.2") as client:
        answer = client.chat(emulator.video_nos[:1], QUESTION)
    emulator.reset()
    return answer


def expected_nodes(answer: ChatAnswer) -> list[tuple[Any, ...]]:
    return [
        (
            (ref.video_no, ref.video_name, ref.start, ref.end, ref.kind),
            ref.text or describe_ref(ref),  # a keyframe has no text: where and when it is
            1 / (1 + rank),
        )
        for rank, ref in enumerate(answer.refs)
    ]


def seen(nodes: list[Any]) -> list[tuple[Any, ...]]:
    keys = ("video_no", "video_name", "start", "end", "kind")
    return [(tuple(n.node.metadata[k] for k in keys), n.node.get_content(), n.score) for n in nodes]


def test_every_component_takes_api_version(v12: dict[str, Any]) -> None:
    components = [
        MaviLLM(**v12),
        MaviQueryEngine(**v12),
        MaviChatEngine(**v12),
        MaviVideoRetriever(**v12),
    ]
    for component in components:
        assert component.api_version == "v1.2"
    with pytest.raises(ValueError, match="api_version"):
        MaviQueryEngine(llm=MaviLLM(**v12), api_version="v1.2")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streaming", [False, True])
async def test_query_sources_are_the_cited_moments_ranked_and_the_session_is_in_metadata(
    mode: str, streaming: bool, v12: dict[str, Any], emulator: MaviEmulator, oracle: ChatAnswer
) -> None:
    engine = MaviQueryEngine(streaming=streaming, **v12)

    response = engine.query(QUESTION) if mode == "sync" else await engine.aquery(QUESTION)
    if isinstance(response, StreamingResponse):
        assert response.source_nodes == [] and "session_id" not in response.metadata
        text = "".join(response.response_gen)
    elif isinstance(response, AsyncStreamingResponse):
        assert response.source_nodes == [] and "session_id" not in response.metadata
        text = "".join([delta async for delta in response.async_response_gen()])
    else:
        text = str(response)

    assert text == oracle.text
    assert oracle.refs and seen(response.source_nodes) == expected_nodes(oracle)
    assert response.metadata["session_id"].isdigit()
    assert response.metadata["video_nos"] == v12["video_nos"]
    [request] = emulator.requests
    assert request.path == (CHAT_STREAM if streaming else CHAT)
    assert request.body == {"video_nos": v12["video_nos"], "prompt": QUESTION}


def test_formatted_sources_and_an_evaluator_work_on_a_video_answer(
    v12: dict[str, Any], oracle: ChatAnswer
) -> None:
    from llama_index.core.evaluation import FaithfulnessEvaluator
    from llama_index.core.llms import MockLLM

    response = MaviQueryEngine(**v12).query(QUESTION)

    sources = response.get_formatted_sources(length=1000)
    first = oracle.refs[0]
    assert f"> Source (Doc id: {first.video_no}:{first.kind}:{first.start:g}-" in sources
    assert first.text in sources
    # The evaluator reads the answer's contexts from its source nodes.
    result = FaithfulnessEvaluator(llm=MockLLM()).evaluate_response(
        query=QUESTION, response=response
    )
    assert result.contexts == [node.node.get_content() for node in response.source_nodes]
    assert result.response == oracle.text


def test_a_moment_cited_without_text_is_described() -> None:
    keyframe = VideoRef("VI1", "harbor.mp4", start=83.0, end=None, kind="keyframe", text="")
    scene = VideoRef("VI1", "", start=62.0, end=105.0, kind="visual_ts", text="")

    [first, second] = ref_nodes([keyframe, scene])

    assert describe_ref(keyframe) == "harbor.mp4 01:23 (keyframe)"
    assert (first.node.get_content(), first.score) == ("harbor.mp4 01:23 (keyframe)", 1.0)
    assert (second.node.get_content(), second.score) == ("VI1 01:02-01:45 (visual_ts)", 0.5)
    assert first.node.node_id == "VI1:keyframe:83"


@pytest.mark.parametrize("mode", MODES)
async def test_llm_answer_holds_thinking_text_and_citation_blocks_and_the_session(
    mode: str, v12: dict[str, Any], oracle: ChatAnswer
) -> None:
    llm = MaviLLM(**v12)
    messages = [ChatMessage(role="user", content=QUESTION)]

    answer = llm.chat(messages) if mode == "sync" else await llm.achat(messages)

    blocks = answer.message.blocks
    kinds = [type(block) for block in blocks]
    thinking = len(oracle.thinking)
    assert kinds == [ThinkingBlock] * thinking + [TextBlock] + [CitationBlock] * len(oracle.refs)
    assert answer.message.content == oracle.text
    assert [(b.content, b.additional_information["title"]) for b in blocks[:thinking]] == [
        (step.content, step.title) for step in oracle.thinking
    ]
    ref = oracle.refs[0]
    citation = blocks[thinking + 1]
    assert isinstance(citation, CitationBlock)
    assert (citation.source, citation.title) == (f"mavi://{ref.video_no}", ref.video_name)
    assert citation.additional_location_info["start_ms"] == round(ref.start * 1000)
    assert answer.message.additional_kwargs["session_id"].isdigit()


@pytest.mark.parametrize("mode", MODES)
async def test_llm_stream_hands_thinking_as_it_comes_and_ends_with_every_block(
    mode: str, v12: dict[str, Any], oracle: ChatAnswer
) -> None:
    llm = MaviLLM(**v12)
    messages = [ChatMessage(role="user", content=QUESTION)]
    if mode == "sync":
        items = list(llm.stream_chat(messages))
    else:
        items = [item async for item in await llm.astream_chat(messages)]

    thinking = [item.additional_kwargs.get("thinking_delta") for item in items]
    assert [text for text in thinking if text] == [step.content for step in oracle.thinking]
    assert items[0].delta == "" and isinstance(items[0].message.blocks[0], ThinkingBlock)
    assert "".join(item.delta or "" for item in items) == oracle.text
    last = items[-1].message
    assert last.content == oracle.text
    assert sum(isinstance(b, CitationBlock) for b in last.blocks) == len(oracle.refs)
    assert last.additional_kwargs["session_id"].isdigit()


@pytest.mark.parametrize("mode", MODES)
async def test_llm_continues_the_session_of_the_last_answer_with_only_the_new_text(
    mode: str, v12: dict[str, Any], emulator: MaviEmulator
) -> None:
    llm = MaviLLM(**v12)
    first = [
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="user", content=QUESTION),
    ]
    answer = llm.chat(first) if mode == "sync" else await llm.achat(first)
    session = answer.message.additional_kwargs["session_id"]
    follow_up = [*first, answer.message, ChatMessage(role="user", content="What happens next?")]

    if mode == "sync":
        "".join(item.delta or "" for item in llm.stream_chat(follow_up))
    else:
        async for _ in await llm.astream_chat(follow_up):
            pass

    assert emulator.requests[-1].body == {
        "video_nos": v12["video_nos"],
        "prompt": "What happens next?",
        "session_id": int(session),
    }


@pytest.mark.parametrize("mode", MODES)
async def test_llm_continues_the_latest_answer_with_a_session_and_folds_later_turns(
    mode: str, v12: dict[str, Any], emulator: MaviEmulator
) -> None:
    # The rule LangChain's ChatMavi keeps too (mavi_core._adapters.continue_conversation): the
    # latest assistant message with a session, not the last assistant message, is continued;
    # an answer written elsewhere after it is folded into the prompt; user texts are joined.
    llm = MaviLLM(**v12)
    question = [ChatMessage(role="system", content="Be brief."), ChatMessage(content=QUESTION)]
    answer = llm.chat(question) if mode == "sync" else await llm.achat(question)
    session = answer.message.additional_kwargs["session_id"]
    messages = [
        *question,
        answer.message,
        ChatMessage(role="user", content="Where to?"),
        ChatMessage(role=MessageRole.ASSISTANT, content="It leaves its berth."),
        ChatMessage(role="user", content="And then?"),
        ChatMessage(role="user", content="Briefly."),
    ]

    if mode == "sync":
        llm.chat(messages)
    else:
        await llm.achat(messages)

    assert emulator.requests[-1].body == {
        "video_nos": v12["video_nos"],
        "prompt": "Conversation so far:\nUser: Where to?\nAssistant: It leaves its berth."
        "\n\nAnd then?\n\nBriefly.",
        "session_id": int(session),
    }


def test_llm_without_any_session_sends_the_whole_conversation(
    v12: dict[str, Any], emulator: MaviEmulator
) -> None:
    llm = MaviLLM(**v12)
    messages = [
        ChatMessage(role="user", content=QUESTION),
        ChatMessage(role=MessageRole.ASSISTANT, content="It leaves its berth."),
        ChatMessage(role="user", content="And then?"),
    ]

    llm.chat(messages)

    body = emulator.requests[-1].body
    assert "session_id" not in body
    assert body["prompt"] == (
        f"Conversation so far:\nUser: {QUESTION}\nAssistant: It leaves its berth.\n\nAnd then?"
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streaming", [False, True])
async def test_chat_engine_keeps_the_session_and_sends_only_the_new_message(
    mode: str, streaming: bool, v12: dict[str, Any], emulator: MaviEmulator
) -> None:
    chat = MaviChatEngine(system_prompt="Be brief.", **v12)

    async def turn(message: str) -> Any:
        if not streaming:
            return chat.chat(message) if mode == "sync" else await chat.achat(message)
        if mode == "sync":
            response = chat.stream_chat(message)
            "".join(response.response_gen)
        else:
            response = await chat.astream_chat(message)
            async for _ in response.async_response_gen():  # ends once the answer is in memory
                pass
        return response

    first = await turn(QUESTION)
    session = chat.session_id
    assert session is not None and session.isdigit()
    second = await turn("What happens next?")

    bodies = [request.body for request in emulator.requests]
    assert bodies == [
        {"video_nos": v12["video_nos"], "prompt": "Be brief.\n\n" + QUESTION},
        {"video_nos": v12["video_nos"], "prompt": "What happens next?", "session_id": int(session)},
    ]
    assert chat.session_id == session
    assert first.source_nodes and second.source_nodes
    assert all(node.node.metadata["kind"] for node in second.source_nodes)
    if not streaming:
        assert second.metadata["session_id"] == session
    assert [m.role for m in chat.chat_history] == ["user", "assistant"] * 2

    chat.reset()
    assert chat.session_id is None
    await turn("Who is there?")
    assert "session_id" not in emulator.requests[-1].body


def test_a_failed_turn_leaves_the_memory_and_the_session_untouched(
    v12: dict[str, Any], emulator: MaviEmulator
) -> None:
    chat = MaviChatEngine(**v12)
    chat.chat(QUESTION)
    session, history = chat.session_id, chat.chat_history
    emulator.faults.error_envelope("0001", "Video is not parsed", path=CHAT)

    with pytest.raises(MaviInvalidRequestError):
        chat.chat("What happens next?")

    assert (chat.session_id, chat.chat_history) == (session, history)
    chat.chat("What happens next?")
    assert emulator.requests[-1].body["session_id"] == int(session or 0)


async def _streamed_turn(chat: MaviChatEngine, message: str, mode: str) -> str:
    if mode == "sync":
        return "".join(chat.stream_chat(message).response_gen)
    response = await chat.astream_chat(message)
    return "".join([delta async for delta in response.async_response_gen()])


@pytest.mark.parametrize("mode", MODES)
async def test_a_streamed_turn_stores_what_a_non_streamed_turn_stores(
    mode: str, v12: dict[str, Any]
) -> None:
    invoked, streamed = MaviChatEngine(**v12), MaviChatEngine(**v12)
    invoked.chat(QUESTION)
    await _streamed_turn(streamed, QUESTION, mode)

    stored = invoked.chat_history
    assert [m.role for m in streamed.chat_history] == [m.role for m in stored]
    question, answer = streamed.chat_history
    assert question == stored[0]
    # Thinking blocks, the text (unstripped) and citation blocks, as chat() stores them.
    assert answer.blocks == stored[1].blocks
    assert [type(block) for block in answer.blocks] == [
        *[ThinkingBlock] * sum(isinstance(b, ThinkingBlock) for b in answer.blocks),
        TextBlock,
        *[CitationBlock] * sum(isinstance(b, CitationBlock) for b in answer.blocks),
    ]
    assert any(isinstance(b, ThinkingBlock) for b in answer.blocks)
    assert any(isinstance(b, CitationBlock) for b in answer.blocks)
    assert answer.additional_kwargs == {"session_id": streamed.session_id}
    assert stored[1].additional_kwargs == {"session_id": invoked.session_id}


# LlamaIndex's thread that drains a sync stream re-raises the failure after storing it.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("mode", MODES)
async def test_a_broken_stream_leaves_the_memory_and_the_session_untouched(
    mode: str, v12: dict[str, Any], emulator: MaviEmulator
) -> None:
    chat = MaviChatEngine(**v12)
    await _streamed_turn(chat, QUESTION, mode)
    session, history = chat.session_id, chat.chat_history
    emulator.faults.error_after(2, path=CHAT_STREAM)

    with pytest.raises(MaviError):
        await _streamed_turn(chat, "What happens next?", mode)

    assert (chat.session_id, chat.chat_history) == (session, history)
    await _streamed_turn(chat, "What happens next?", mode)
    assert emulator.requests[-1].body["prompt"] == "What happens next?"
    assert emulator.requests[-1].body["session_id"] == int(session or 0)
