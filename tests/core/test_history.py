"""The shared (role, text) conversation to `message` + `history` rules (docs/errors-and-wire.md)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mavi_core import ChatTurn
from mavi_core._adapters import Role, conversation_to_chat


@pytest.mark.parametrize(
    ("conversation", "message", "history"),
    [
        ([("user", "q")], "q", []),
        ([("system", "S"), ("user", "q")], "S\n\nq", []),
        ([("system", "S1"), ("user", "q"), ("system", "S2")], "S1\n\nS2\n\nq", []),
        ([("user", "a"), ("user", "b")], "a\n\nb", []),
        ([("user", "a"), ("assistant", "b"), ("user", "c")], "c", [ChatTurn(user="a", robot="b")]),
        (
            [
                ("user", "a1"),
                ("user", "a2"),
                ("assistant", "b1"),
                ("assistant", "b2"),
                ("user", "c"),
            ],
            "c",
            [ChatTurn(user="a1\n\na2", robot="b1\n\nb2")],
        ),
        ([("assistant", "hello"), ("user", "q")], "q", [ChatTurn(user="", robot="hello")]),
        (
            [
                ("system", "S1"),
                ("system", "S2"),
                ("user", "h1"),
                ("user", "h2"),
                ("assistant", "a1"),
                ("assistant", "a2"),
                ("user", "h3"),
            ],
            "S1\n\nS2\n\nh3",
            [ChatTurn(user="h1\n\nh2", robot="a1\n\na2")],
        ),
        ([("user", ""), ("user", "q"), ("system", "")], "q", []),
        (
            [("user", "q1"), ("assistant", ""), ("user", "q2")],
            "q2",
            [ChatTurn(user="q1", robot="")],
        ),
        (
            [("user", "1"), ("assistant", "2"), ("user", "3"), ("assistant", "4"), ("user", "5")],
            "5",
            [ChatTurn(user="1", robot="2"), ChatTurn(user="3", robot="4")],
        ),
    ],
)
def test_mapping_table(
    conversation: list[tuple[Role, str]], message: str, history: list[ChatTurn]
) -> None:
    prompt = conversation_to_chat(conversation)
    assert (prompt.message, prompt.history) == (message, history)


@pytest.mark.parametrize(
    ("conversation", "expected"),
    [
        ([("user", "q"), ("assistant", "a")], "ends with an assistant message"),
        ([], "no user"),
        ([("system", "S")], "no user"),
        ([("user", "  ")], "empty"),
    ],
)
def test_conversations_without_a_question_are_rejected(
    conversation: list[tuple[Role, str]], expected: str
) -> None:
    with pytest.raises(ValueError, match=expected):
        conversation_to_chat(conversation)


texts = st.text(alphabet="abc", min_size=1, max_size=3)
conversations = st.lists(
    st.tuples(st.sampled_from(["system", "user", "assistant"]), texts), max_size=30
).map(lambda turns: [*turns, ("user", "final")])


@given(conversations)
def test_no_text_is_lost_and_turns_alternate(conversation: list[tuple[Role, str]]) -> None:
    prompt = conversation_to_chat(conversation)  # type: ignore[arg-type]
    sent = [prompt.message] + [t.user for t in prompt.history] + [t.robot for t in prompt.history]
    joined = "\n\n".join(sent)
    for role, text in conversation:
        assert text in joined, (role, text)
    assert all(turn.robot for turn in prompt.history)
    assert prompt.message.endswith("final")
