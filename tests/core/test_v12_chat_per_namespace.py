"""The v1.2 chat keeps videos and sessions per key and per `unique_id`, as the video routes
do (the `mavi_core.emulator` docstring, "The v1.2 chat"): through both clients against the
emulator over loopback HTTP. A video of another library is "Video does not exist"; a session
opened in one namespace is not listed, restored or continued from another."""

from __future__ import annotations

from typing import Any

import pytest

from mavi_core import MaviInvalidRequestError
from mavi_core.emulator import MaviEmulator

from .test_v12_videos import KITCHEN, V12Http

pytestmark = pytest.mark.integration

ASKED = "How does the chef dice the onion?"


@pytest.fixture(params=["sync", "async"])
def v12(request: pytest.FixtureRequest, emu: MaviEmulator, sleeps: list[float]) -> V12Http:
    return V12Http(request.param, emu, sleeps)


def _upload_parsed(v12: V12Http, monkeypatch: pytest.MonkeyPatch, unique_id: str) -> str:
    monkeypatch.setattr(v12.emu, "parse_delay", 0.0)
    video = v12.run(lambda c: c.upload_video("https://e.example/pier.mp4", unique_id=unique_id))
    no: str = video.video_no
    return no


@pytest.mark.parametrize("how", ["chat", "stream_chat"])
def test_the_chat_sees_only_the_videos_of_its_key_and_namespace(
    v12: V12Http, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    mine = _upload_parsed(v12, monkeypatch, "user-1")

    def ask(unique_id: str | None = None, **options: Any) -> Any:
        return v12.run(lambda c: getattr(c, how)([mine], "pier?", unique_id=unique_id), **options)

    assert ask("user-1")  # its own library answers
    for unique_id in ("user-2", None):
        with pytest.raises(MaviInvalidRequestError, match=f"Video does not exist: {mine}"):
            ask(unique_id)
    other_key = v12.emu.issue_tokens()["accessToken"]
    with pytest.raises(MaviInvalidRequestError, match=f"Video does not exist: {mine}"):
        ask("user-1", api_key=other_key)
    # The samples are in every library.
    assert v12.run(lambda c: getattr(c, how)([KITCHEN], ASKED, unique_id="user-2"))


def test_a_session_belongs_to_the_namespace_it_was_opened_in(v12: V12Http) -> None:
    first = v12.run(lambda c: c.chat([KITCHEN], ASKED, unique_id="user-1"))
    session = first.session_id

    def listed(unique_id: str | None) -> list[str]:
        return [s.session_id for s in v12.run(lambda c: c.list_sessions(unique_id=unique_id))]

    assert listed("user-1") == [session]
    assert listed("user-2") == listed(None) == []
    detail = v12.run(lambda c: c.get_session_detail(session, unique_id="user-1"))
    assert [m.content for m in detail.messages] == [ASKED, first.text]
    assert v12.emu.requests[-1].query == {"sessionId": session, "unique_id": "user-1"}
    missing = f"Session does not exist: {session}"
    for unique_id in ("user-2", None):
        scope = {"unique_id": unique_id}
        with pytest.raises(MaviInvalidRequestError, match=missing):
            v12.run(lambda c, scope=scope: c.get_session_detail(session, **scope))
        for how in ("chat", "stream_chat"):
            with pytest.raises(MaviInvalidRequestError, match=missing):
                v12.run(
                    lambda c, how=how, scope=scope: getattr(c, how)(
                        [KITCHEN], "Next?", session_id=session, **scope
                    )
                )
    again = v12.run(lambda c: c.chat([KITCHEN], "Next?", session_id=session, unique_id="user-1"))
    assert again.session_id == session
    assert "1 earlier turn" in again.thinking[0].content
