"""The shape comparison the conformance tests rest on finds every kind of drift."""

from __future__ import annotations

import json

import pytest

from .samples import sample
from .shape import check_conforms, differences, optional_keys, shape

CHAT = json.loads(sample("chat.json"))


def test_a_reply_shaped_like_the_sample_conforms_whatever_its_values() -> None:
    reply = json.loads(json.dumps(CHAT).replace("tugboat", "ferry").replace('"63"', '"12"'))
    check_conforms(reply, CHAT)


def test_the_old_flat_ref_and_an_integer_session_id_are_found() -> None:
    data = CHAT["data"]
    flat = {**data["refs"][0]["video"], "refItems": data["refs"][0]["refItems"]}
    old = {**CHAT, "data": {**data, "refs": [flat], "session_id": 606120397607260160}}
    found = differences(shape(old), shape(CHAT))
    assert "$.data.refs[].video: missing" in found
    assert "$.data.refs[].video_no: not in the sample" in found
    assert "$.data.session_id: a number where the sample has a string" in found


def test_a_missing_key_a_renamed_key_and_a_lost_optional_key_are_found() -> None:
    data = {key: value for key, value in CHAT["data"].items() if key != "role"}
    data["thinking"] = data.pop("thinkings")
    found = differences(shape({**CHAT, "data": data}), shape(CHAT))
    assert set(found) == {
        "$.data.role: missing",
        "$.data.thinkings: missing",
        "$.data.thinking: not in the sample",
    }
    items = CHAT["data"]["refs"][0]["refItems"]
    always = {**CHAT, "data": {**CHAT["data"], "refs": [{"video": {}, "refItems": items[1:]}]}}
    assert optional_keys(shape(CHAT)) == {"endTime", "text"}
    assert optional_keys(shape(always)) == set()


def test_check_conforms_says_where() -> None:
    with pytest.raises(
        AssertionError, match=r"\$\.success: a string where the sample has a boolean"
    ):
        check_conforms({**CHAT, "success": "true"}, CHAT)
