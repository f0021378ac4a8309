"""v1.2 moment search as the service documents it (api-tools.memories.ai/platform/
search-private-video): `search_type` (BY_CLIP by default), `top_k` 1-1000 and `video_nos` (at
most 100 a request) sent, not filtered here; BY_AUDIO hits carry what is said. Both clients,
against the emulator and against a loopback server writing exact bytes; bad input refused
before any request."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

from mavi_core import MaviValidationError
from mavi_core.emulator import MaviEmulator
from tests.support.rawserver import Request, raw_server, reply
from tests.support.v12 import on_loopback

from .conftest import Api, Server
from .test_v12_videos import HARBOR, KITCHEN, V12, V12Http, _reply, _run


@pytest.fixture(params=["sync", "async"])
def v12(request: pytest.FixtureRequest, emu: MaviEmulator, sleeps: list[float]) -> V12Http:
    return V12Http(request.param, emu, sleeps)


# Against the emulator.


@pytest.mark.integration
def test_video_nos_and_top_k_are_sent_and_the_service_searches_only_those(v12: V12Http) -> None:
    moments = v12.run(lambda c: c.find_moments("harbor onion knife", [HARBOR], limit=2))
    assert moments and {moment.video_no for moment in moments} == {HARBOR}
    assert len(moments) <= 2
    (request,) = v12.emu.requests
    assert request.body == {"search_param": "harbor onion knife", "search_type": "BY_CLIP",
                            "top_k": 2, "video_nos": [HARBOR]}  # fmt: skip


@pytest.mark.integration
def test_a_video_ranked_below_the_cut_of_the_library_is_still_found(v12: V12Http) -> None:
    """The old way searched the whole library and kept the videos asked after the service's
    cut: a video whose clips rank below the library's top_k came back empty."""
    library = v12.run(lambda c: c.find_moments("onion", limit=1))
    assert {moment.video_no for moment in library} == {KITCHEN}
    others = [no for no in v12.emu.video_nos if no != KITCHEN]
    found = v12.run(lambda c: c.find_moments("onion knife water", others, limit=1))
    assert len(found) == 1 and found[0].video_no != KITCHEN


@pytest.mark.integration
def test_by_audio_hits_carry_the_words_said(v12: V12Http) -> None:
    heard = v12.run(
        lambda c: c.find_moments("harbor breakwater color", limit=3, search_type="BY_AUDIO")
    )
    assert heard and all(moment.text for moment in heard)
    assert v12.emu.requests[0].body["search_type"] == "BY_AUDIO"  # type: ignore[index]
    seen = v12.run(lambda c: c.search_moments("harbor breakwater color", [HARBOR]))
    assert seen and all(moment.text == "" for moment in seen)


@pytest.mark.integration
@pytest.mark.parametrize("search_type", ["BY_CLIP", "BY_VIDEO", "BY_AUDIO", "BY_CAPTION"])
def test_every_search_type_is_sent_as_given(v12: V12Http, search_type: str) -> None:
    found = v12.run(lambda c: c.search_videos("harbor", search_type=search_type))
    assert [video.video_no for video in found][:1] == [HARBOR]
    assert v12.emu.requests[-1].body == {"search_param": "harbor", "search_type": search_type}


# Exact bytes from a loopback server: more than 100 videos.


def _clips_for(conn: socket.socket, request: Request) -> None:
    """Answers each search with the `top_k` best clips of the videos it names, the score of
    VI<n> being n / 1000."""
    body = json.loads(request.body)
    videos = sorted(body["video_nos"], key=lambda no: -int(no[2:]))[: body["top_k"]]
    data = [{"videoNo": no, "videoName": f"{no}.mp4", "startTime": "1", "endTime": "4",
             "score": int(no[2:]) / 1000} for no in videos]  # fmt: skip
    payload = {"code": "0000", "msg": "success", "data": data, "success": True, "failed": False}
    reply(conn, json.dumps(payload).encode(), "Content-Type: application/json")


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_more_than_100_videos_are_searched_100_a_request_and_merged_by_score(mode: str) -> None:
    videos = [f"VI{n}" for n in range(250)]
    with raw_server(_clips_for) as server:
        found = on_loopback(mode, server.base_url, lambda c: c.find_moments("a", videos, limit=5))
    assert [moment.video_no for moment in found] == ["VI249", "VI248", "VI247", "VI246", "VI245"]
    sent = [json.loads(request.body) for request in server.requests]
    assert [body["video_nos"] for body in sent] == [videos[:100], videos[100:200], videos[200:]]
    assert {(body["top_k"], body["search_type"]) for body in sent} == {(5, "BY_CLIP")}
    assert {request.path for request in server.requests} == {f"{V12}/search"}


# Bad input: refused before any request.


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda c: c.find_moments("a", limit=1001), "1 to 1000"),
        (lambda c: c.find_moments("a", ["VI1"], limit=201, search_type="BY_CAPTION"), "1 to 200"),
        (lambda c: c.find_moments("a", search_type="BY_SMELL"), "search_type must be one of"),
        (lambda c: c.find_moments("a", search_type="by_clip"), "search_type must be one of"),
        (lambda c: c.search_moments("a", ["VI1"], search_type=None), "search_type must be one of"),
        (lambda c: c.search_videos("a", search_type=5), "search_type must be one of"),
    ],
)
def test_a_bad_search_type_or_top_k_is_refused_before_any_request(
    api: Api, server: Server, call: Callable[[Any], Any], words: str
) -> None:
    with pytest.raises(MaviValidationError, match=words):
        _run(api, call)
    assert server.requests == []


def test_search_type_with_v10_is_refused_before_any_request(api: Api, server: Server) -> None:
    with pytest.raises(MaviValidationError, match=r"search_type belongs to the v1\.2 API"):
        _run(
            api, lambda c: c.find_moments("a", ["VI1"], search_type="BY_AUDIO"), api_version="v1.0"
        )
    assert server.requests == []


def test_limit_1000_is_sent_as_top_k(api: Api, server: Server) -> None:
    server.default = lambda request: _reply([])
    assert _run(api, lambda c: c.find_moments("a", limit=1000)) == []
    assert server.bodies() == [{"search_param": "a", "search_type": "BY_CLIP", "top_k": 1000}]
