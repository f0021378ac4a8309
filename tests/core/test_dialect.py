"""The dialect object: each version of the API builds its own calls, from one table."""

from __future__ import annotations

import pytest

from mavi_core import MaviSettings, MaviValidationError
from mavi_core._dialect import V10, V12, dialect_of
from mavi_core._flow import Operations


@pytest.mark.parametrize(("version", "dialect"), [("v1.0", V10), ("v1.2", V12)])
def test_the_settings_api_version_picks_its_dialect(version: str, dialect: object) -> None:
    settings = MaviSettings.resolve("sk-test", api_version=version)
    assert dialect_of(version) is dialect
    assert Operations(settings).dialect is dialect


def test_each_dialect_builds_its_own_chat_call() -> None:
    v10 = V10.chat_call(["VI1"], "What happens?", None, None, None, stream=True)
    assert (v10.method, v10.path) == ("POST", "/api/serve/video/chat")
    assert v10.json == {"videoNos": ["VI1"], "message": "What happens?", "history": [],
                        "stream": True}  # fmt: skip
    v12 = V12.chat_call(["VI1"], "What happens?", None, "42", "alice", stream=True)
    assert (v12.path, v12.accept) == ("/serve/api/v1/chat_stream", "text/event-stream")
    assert v12.json == {"video_nos": ["VI1"], "prompt": "What happens?", "session_id": 42,
                        "unique_id": "alice"}  # fmt: skip
    assert V12.chat_call(["VI1"], "Hi", None, None, None, stream=False).path == "/serve/api/v1/chat"
    assert V10.whole_answer(v10, 1024) is None  # v1.0 reads a whole answer as its stream
    assert V12.whole_answer(v12, 1024) is not None


def test_each_dialect_deletes_in_its_own_batches() -> None:
    videos = [f"VI{n}" for n in range(501)]
    v10 = V10.delete_calls(videos, None)
    assert [(call.method, len(call.json)) for call in v10] == [("DELETE", 500), ("DELETE", 1)]
    v12 = V12.delete_calls(videos[:150], "alice")
    assert [(call.method, call.path, len(call.json)) for call in v12] == [
        ("POST", "/serve/api/v1/delete_videos", 100),
        ("POST", "/serve/api/v1/delete_videos", 50),
    ]
    assert all(call.params == {"unique_id": "alice"} for call in v12)


def test_v10_refuses_what_only_v12_takes_before_any_request() -> None:
    with pytest.raises(MaviValidationError, match=r"api_version='v1\.2'"):
        V10.scope("alice")
    with pytest.raises(MaviValidationError, match=r"search_type belongs to the v1\.2 API"):
        V10.search_calls("boats", ["VI1"], None, "BY_AUDIO")
    with pytest.raises(MaviValidationError, match="list_sessions"):
        V10.session_pager(None)
    with pytest.raises(MaviValidationError, match="get_session_detail"):
        V10.session_detail("42")
    with pytest.raises(MaviValidationError, match=r"callback_uri has no v1\.2 equivalent"):
        V12.submit_call("VI1", "AUDIO", "https://example.com/hook")


def test_a_transcript_is_a_task_in_v10_and_read_at_once_in_v12() -> None:
    submit = V10.submit_call("VI1", "AUDIO", None)
    assert submit is not None and submit.json == {"videoNo": "VI1", "type": "AUDIO"}
    assert V10.transcript_call("VI1", "AUDIO", "T1", None).params == {"taskNo": "T1"}
    assert V12.submit_call("VI1", "AUDIO", None) is None
    read = V12.transcript_call("VI1", "VIDEO", "", "alice")
    assert (read.path, read.params) == (
        "/serve/api/v1/get_video_transcription",
        {"video_no": "VI1", "unique_id": "alice"},
    )
