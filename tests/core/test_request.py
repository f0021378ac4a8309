"""Request validation and the exact chat body: errors say what was wrong and what to do."""

from __future__ import annotations

from typing import Any

import pytest

from mavi_core import ChatTurn, MaviInvalidRequestError, MaviValidationError
from mavi_core._request import build_chat_body


def test_body_holds_exactly_the_four_fields() -> None:
    body = build_chat_body(["VI1"], "What happens?", None, stream=True)
    assert body == {"videoNos": ["VI1"], "message": "What happens?", "history": [], "stream": True}


def test_history_accepts_turns_and_dicts() -> None:
    history = [ChatTurn(user="a", robot="b"), {"user": "c", "robot": "d"}]
    body = build_chat_body(("VI1", "VI2"), "q", history, stream=False)
    assert body["history"] == [{"user": "a", "robot": "b"}, {"user": "c", "robot": "d"}]
    assert body["videoNos"] == ["VI1", "VI2"]


@pytest.mark.parametrize(
    ("video_nos", "message", "history", "expected"),
    [
        ("VI1", "q", None, r"not a single string; write video_nos=\['VI1'\]"),
        ([], "q", None, "video_nos is empty"),
        (None, "q", None, "non-empty list of video numbers"),
        (["VI1", ""], "q", None, r"video_nos\[1\] must be a non-empty string"),
        (["VI1", 7], "q", None, r"video_nos\[1\] must be a non-empty string"),
        (["VI1"], "", None, "message is empty"),
        (["VI1"], "   ", None, "message is empty"),
        (["VI1"], None, None, "message must be a string"),
        (["VI1"], "q", {"user": "a", "robot": "b"}, "history must be a list of turns"),
        (["VI1"], "q", [{"user": "a"}], r"history\[0\] needs a 'robot' string"),
        (["VI1"], "q", [{"user": 1, "robot": "b"}], r"history\[0\] needs a 'user' string"),
        (["VI1"], "q", ["hello"], r"history\[0\] must be a ChatTurn or a dict"),
    ],
)
def test_bad_input_is_rejected_with_a_hint(
    video_nos: Any, message: Any, history: Any, expected: str
) -> None:
    with pytest.raises(MaviValidationError, match=expected) as caught:
        build_chat_body(video_nos, message, history, stream=False)
    assert isinstance(caught.value, ValueError)
    assert not isinstance(caught.value, MaviInvalidRequestError)  # local, not remote
