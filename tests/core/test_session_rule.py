"""The v1.2 session rule both adapters call (`mavi_core._adapters.continue_conversation`;
docs/v1.2.md, "Sessions"): pure, no I/O."""

from __future__ import annotations

import pytest

from mavi_core import ChatTurn
from mavi_core._adapters import SessionMessage, continue_conversation, latest_session


def test_without_a_session_the_v1_0_mapping_applies_and_no_session_is_sent() -> None:
    prompt, session = continue_conversation(
        [
            ("system", "Be brief.", None),
            ("user", "Hi", None),
            ("assistant", "Hello.", None),
            ("user", "Q", None),
        ]
    )
    assert session is None
    assert (prompt.message, prompt.history) == ("Be brief.\n\nQ", [ChatTurn("Hi", "Hello.")])


def test_the_latest_session_wins_and_only_what_follows_it_is_sent() -> None:
    conversation: list[SessionMessage] = [
        ("system", "Be brief.", None),
        ("user", "Where?", None),
        ("assistant", "A harbor.", "111"),
        ("user", "Which boat?", None),
        ("assistant", "The tug.", "222"),
        ("system", "In French.", None),
        ("user", "When?", None),
        ("user", "Where to?", None),
    ]
    prompt, session = continue_conversation(conversation)
    assert session == "222"
    assert (prompt.message, prompt.history) == ("In French.\n\nWhen?\n\nWhere to?", [])
    assert latest_session([s for _, _, s in conversation]) == ("222", 5)


def test_turns_answered_elsewhere_after_the_session_are_folded_into_the_prompt() -> None:
    prompt, session = continue_conversation(
        [
            ("user", "Where?", None),
            ("assistant", "A harbor.", "111"),
            ("assistant", "A port, in fact.", None),
            ("user", "Which?", None),
            ("assistant", "The tug.", None),
            ("user", "Then?", None),
        ]
    )
    assert session == "111"
    assert prompt.history == []
    assert prompt.message == (
        "Conversation so far:\nAssistant: A port, in fact.\nUser: Which?\nAssistant: The tug."
        "\n\nThen?"
    )


@pytest.mark.parametrize(
    "conversation",
    [
        [("user", "Hi", None), ("assistant", "Hello.", "1")],
        [
            ("user", "Hi", None),
            ("assistant", "Hello.", "1"),
            ("user", "Q", None),
            ("assistant", "A", None),
        ],
    ],
)
def test_a_conversation_ending_with_an_answer_has_no_question(
    conversation: list[SessionMessage],
) -> None:
    with pytest.raises(ValueError, match="ends with an assistant message"):
        continue_conversation(conversation)
