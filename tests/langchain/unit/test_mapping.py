"""Messages to one MAVI request: the rules of docs/errors-and-wire.md, as tables and as properties.

Each table row is checked twice: directly (`messages_to_request`) and through `ChatMavi`, by
reading the body the (fake) server received.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_mavi import messages_to_conversation, messages_to_request
from mavi_core import ChatTurn
from mavi_core._adapters import conversation_to_chat

V = "VI100"


def video(video_no: str) -> dict[str, str]:
    return {"type": "video", "file_id": video_no}


# (id, messages, per-call video_nos, expected message, expected history, expected videos)
MAPPING_CASES: list[tuple[str, list[BaseMessage], list[str] | None, str, list[Any], list[str]]] = [
    ("one question", [HumanMessage("What happens?")], None, "What happens?", [], [V]),
    (
        "system text goes in front of the question",
        [SystemMessage("Answer briefly."), HumanMessage("What happens?")],
        None,
        "Answer briefly.\n\nWhat happens?",
        [],
        [V],
    ),
    (
        "several system texts, in order, blank-line joined",
        [SystemMessage("s1"), HumanMessage("q"), SystemMessage("s2")],
        None,
        "s1\n\ns2\n\nq",
        [],
        [V],
    ),
    (
        "earlier exchange becomes one turn",
        [HumanMessage("hello"), AIMessage("hi"), HumanMessage("how are you")],
        None,
        "how are you",
        [{"user": "hello", "robot": "hi"}],
        [V],
    ),
    (
        "the standard suite's double messages merge per side",
        [
            SystemMessage("sys"),
            SystemMessage("sys"),
            HumanMessage("h1"),
            HumanMessage("h2"),
            AIMessage("a1"),
            AIMessage("a2"),
            HumanMessage("how are you"),
        ],
        None,
        "sys\n\nsys\n\nhow are you",
        [{"user": "h1\n\nh2", "robot": "a1\n\na2"}],
        [V],
    ),
    (
        "trailing human run is the message",
        [AIMessage("a"), HumanMessage("q1"), HumanMessage("q2")],
        None,
        "q1\n\nq2",
        [{"user": "", "robot": "a"}],
        [V],
    ),
    (
        "an AI run with no human before it gets user ''",
        [AIMessage("Welcome."), HumanMessage("q")],
        None,
        "q",
        [{"user": "", "robot": "Welcome."}],
        [V],
    ),
    (
        "text blocks and strings in content are concatenated",
        [
            HumanMessage(
                [{"type": "text", "text": "What "}, "happens", {"type": "text", "text": "?"}]
            )
        ],
        None,
        "What happens?",
        [],
        [V],
    ),
    (
        "a video block adds its video after the default ones",
        [HumanMessage([{"type": "text", "text": "Compare."}, video("VI200")])],
        None,
        "Compare.",
        [],
        [V, "VI200"],
    ),
    (
        "a v0 video block by id works too",
        [HumanMessage([{"type": "video", "source_type": "id", "id": "VI200"}, "Compare."])],
        None,
        "Compare.",
        [],
        [V, "VI200"],
    ),
    (
        "a message with only a video adds no text",
        [HumanMessage([video("VI200")]), HumanMessage("What happens?")],
        None,
        "What happens?",
        [],
        [V, "VI200"],
    ),
    (
        "per-call video_nos replace the model's, blocks still add, no repeats",
        [HumanMessage(["q", video("VI300"), video("VI200")])],
        ["VI200"],
        "q",
        [],
        ["VI200", "VI300"],
    ),
    (
        "names are not sent",
        [
            HumanMessage("hello", name="example_user"),
            AIMessage("hi", name="bot"),
            HumanMessage("q"),
        ],
        None,
        "q",
        [{"user": "hello", "robot": "hi"}],
        [V],
    ),
    (
        "reasoning and tool-call parts of AI turns are left out",
        [
            HumanMessage("h"),
            AIMessage(
                [
                    {"type": "reasoning", "reasoning": "hmm"},
                    {"type": "text", "text": "answer"},
                    {"type": "tool_use", "id": "1", "name": "t", "input": {}},
                ]
            ),
            HumanMessage("q"),
        ],
        None,
        "q",
        [{"user": "h", "robot": "answer"}],
        [V],
    ),
    (
        "ChatMessage roles map like the message classes",
        [
            ChatMessage(role="system", content="s"),
            ChatMessage(role="user", content="h"),
            ChatMessage(role="assistant", content="a"),
            ChatMessage(role="user", content="q"),
        ],
        None,
        "s\n\nq",
        [{"user": "h", "robot": "a"}],
        [V],
    ),
]

# (id, messages, per-call video_nos, model video_nos, words the ValueError must contain)
ERROR_CASES: list[tuple[str, list[BaseMessage], Any, list[str], str]] = [
    ("ends with an AI message", [HumanMessage("q"), AIMessage("a")], None, [V], "ends with"),
    ("no messages", [], None, [V], "no user"),
    ("only system text", [SystemMessage("s")], None, [V], "no user"),
    ("blank question", [HumanMessage("   ")], None, [V], "empty"),
    (
        "image block",
        [HumanMessage([{"type": "image", "url": "https://x/y.png"}, "q"])],
        None,
        [V],
        "'image'",
    ),
    (
        "audio block",
        [HumanMessage([{"type": "audio", "base64": "AAAA", "mime_type": "audio/wav"}, "q"])],
        None,
        [V],
        "'audio'",
    ),
    ("file block", [HumanMessage([{"type": "file", "file_id": "f1"}, "q"])], None, [V], "'file'"),
    (
        "video by URL",
        [HumanMessage([{"type": "video", "url": "https://x/v.mp4"}, "q"])],
        None,
        [V],
        "file_id",
    ),
    ("unknown block", [HumanMessage([{"type": "hologram"}, "q"])], None, [V], "'hologram'"),
    (
        "tool message",
        [HumanMessage("q"), ToolMessage("42", tool_call_id="1"), HumanMessage("q")],
        None,
        [V],
        "MaviVideoChatTool",
    ),
    ("unknown ChatMessage role", [ChatMessage(role="narrator", content="q")], None, [V], "role"),
    ("no videos anywhere", [HumanMessage("q")], None, [], "No video"),
    ("per-call empty list", [HumanMessage("q")], [], [], "No video"),
    ("video_nos as one string", [HumanMessage("q")], "VI1", [V], "list"),
]


@pytest.mark.parametrize(
    ("messages", "video_nos", "message", "history", "videos"),
    [pytest.param(*case[1:], id=case[0]) for case in MAPPING_CASES],
)
def test_messages_map_to_message_history_and_videos(
    messages: list[BaseMessage],
    video_nos: list[str] | None,
    message: str,
    history: list[dict[str, str]],
    videos: list[str],
) -> None:
    request = messages_to_request(messages, video_nos, [V])

    assert request.message == message
    assert [turn.to_dict() for turn in request.history] == history
    assert request.video_nos == videos


@pytest.mark.parametrize(
    ("messages", "video_nos", "message", "history", "videos"),
    [pytest.param(*case[1:], id=case[0]) for case in MAPPING_CASES],
)
def test_chat_mavi_sends_the_mapped_request(
    mavi: Any,
    messages: list[BaseMessage],
    video_nos: list[str] | None,
    message: str,
    history: list[dict[str, str]],
    videos: list[str],
) -> None:
    llm = mavi.chat_model(video_nos=[V])
    llm.invoke(messages, **({} if video_nos is None else {"video_nos": video_nos}))

    assert mavi.sent == [
        {"videoNos": videos, "message": message, "history": history, "stream": False}
    ]


@pytest.mark.parametrize(
    ("messages", "video_nos", "default", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in ERROR_CASES],
)
def test_unmappable_input_is_a_value_error_before_any_request(
    mavi: Any, messages: list[BaseMessage], video_nos: Any, default: list[str], words: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        messages_to_request(messages, video_nos, default)

    llm = mavi.chat_model(video_nos=default)
    kwargs = {} if video_nos is None else {"video_nos": video_nos}
    with pytest.raises(ValueError, match=re.escape(words)):
        llm.invoke(messages, **kwargs)
    with pytest.raises(ValueError, match=re.escape(words)):
        list(llm.stream(messages, **kwargs))
    assert mavi.requests == []


# --- properties ---------------------------------------------------------------------------

texts = st.text(alphabet="ab \n", max_size=5)
question = st.text(alphabet="ab \n", max_size=5).map(lambda text: text + "q")
turn_kinds = st.sampled_from(["system", "human", "ai"])
conversations = st.tuples(st.lists(st.tuples(turn_kinds, texts), max_size=12), question).map(
    lambda parts: [*parts[0], ("human", parts[1])]
)
MESSAGE_CLASSES = {"system": SystemMessage, "human": HumanMessage, "ai": AIMessage}


def as_messages(conversation: list[tuple[str, str]]) -> list[BaseMessage]:
    return [MESSAGE_CLASSES[kind](content=text) for kind, text in conversation]


def runs(conversation: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """Maximal runs of human or AI texts, system messages left out."""
    grouped: list[tuple[str, list[str]]] = []
    for kind, text in conversation:
        if kind == "system":
            continue
        if grouped and grouped[-1][0] == kind:
            grouped[-1][1].append(text)
        else:
            grouped.append((kind, [text]))
    return grouped


def joined(texts: list[str]) -> str:
    """Texts joined by a blank line, empty ones (e.g. video-only messages) adding nothing."""
    return "\n\n".join(text for text in texts if text)


@settings(max_examples=200, deadline=None)
@given(conversations)
def test_property_history_pairs_each_ai_run_with_the_human_run_before_it(
    conversation: list[tuple[str, str]],
) -> None:
    request = messages_to_request(as_messages(conversation), None, [V])

    *earlier, (_, last_texts) = runs(conversation)
    expected: list[ChatTurn] = []
    users: list[str] = []
    for kind, run_texts in earlier:
        if kind == "human":
            users = run_texts
        else:
            expected.append(ChatTurn(user=joined(users), robot=joined(run_texts)))
            users = []
    assert request.history == expected
    assert request.message.endswith(joined(last_texts))


@settings(max_examples=200, deadline=None)
@given(conversations)
def test_property_system_texts_prefix_the_message_in_order(
    conversation: list[tuple[str, str]],
) -> None:
    request = messages_to_request(as_messages(conversation), None, [V])

    system = [text for kind, text in conversation if kind == "system"]
    question_text = joined(runs(conversation)[-1][1])
    assert request.message == joined([*system, question_text])


video_lists = st.lists(st.sampled_from(["VI1", "VI2", "VI3", "VI4"]), max_size=4)


@settings(max_examples=200, deadline=None)
@given(st.none() | video_lists, video_lists, video_lists)
def test_property_videos_are_call_or_default_plus_blocks_in_order_without_repeats(
    per_call: list[str] | None, default: list[str], in_blocks: list[str]
) -> None:
    messages = [HumanMessage([*(video(v) for v in in_blocks), "q"])]
    chosen = default if per_call is None else per_call
    expected = list(dict.fromkeys(chosen + in_blocks))

    if not expected:
        with pytest.raises(ValueError, match="No video"):
            messages_to_request(messages, per_call, default)
        return
    assert messages_to_request(messages, per_call, default).video_nos == expected


@settings(max_examples=200, deadline=None)
@given(conversations)
def test_property_langchain_conversion_feeds_the_core_rules(
    conversation: list[tuple[str, str]],
) -> None:
    roles = {"system": "system", "human": "user", "ai": "assistant"}
    pairs, videos = messages_to_conversation(as_messages(conversation))

    assert pairs == [(roles[kind], text) for kind, text in conversation]
    assert videos == []
    core = conversation_to_chat(pairs)
    request = messages_to_request(as_messages(conversation), None, [V])
    assert (request.message, request.history) == (core.message, core.history)


@settings(max_examples=100, deadline=None)
@given(conversations)
def test_property_chat_mavi_sends_what_the_mapping_says(
    new_mavi: Callable[[], Any], conversation: list[tuple[str, str]]
) -> None:
    mavi = new_mavi()
    mavi.chat_model(video_nos=[V]).invoke(as_messages(conversation))

    request = messages_to_request(as_messages(conversation), None, [V])
    assert mavi.sent == [
        {
            "videoNos": [V],
            "message": request.message,
            "history": [turn.to_dict() for turn in request.history],
            "stream": False,
        }
    ]
