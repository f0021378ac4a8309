"""The emulator's v1.2 video endpoints and session list as a contract: the exact key sets and
JSON types of every reply, over the same library and sessions as v1.0 (docs/v1.2.md,
"Videos and sessions"), with the same rate limits and faults."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from mavi_core.emulator import MaviEmulator

from .conftest import HARBOR, KITCHEN

V12 = "/serve/api/v1"
ENVELOPE = {"code", "msg", "data"}
FLAGGED = {"code", "msg", "data", "success", "failed"}


def _ok(reply: httpx.Response, keys: set[str] = ENVELOPE) -> Any:
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/json")
    payload = reply.json()
    assert set(payload) == keys, payload
    assert payload["code"] == "0000"
    assert payload["msg"] == "success"
    if "success" in keys:
        assert payload["success"] is True
        assert payload["failed"] is False
    return payload["data"]


def _error(reply: httpx.Response, code: str = "0001") -> str:
    assert reply.status_code == 200
    payload = reply.json()
    assert payload["code"] == code, payload
    assert isinstance(payload["msg"], str)
    return str(payload["msg"])


def _upload(client: httpx.Client, name: str = "v12_clip.mp4", **form: str) -> dict[str, Any]:
    files = {"file": (name, b"\x00" * 1500, "video/mp4")}
    data: dict[str, Any] = _ok(client.post(f"{V12}/upload", files=files, data=form))
    return data


def _all_strings(item: dict[str, Any]) -> None:
    for key, value in item.items():
        assert isinstance(value, str), (key, value)


# Upload.


def test_upload_replies_the_documented_video_fields(client: httpx.Client) -> None:
    data = _upload(client, callback="https://cb.example/done")
    assert set(data) == {"videoNo", "videoName", "videoStatus", "uploadTime"}
    _all_strings(data)
    assert data["videoName"] == "v12_clip.mp4"
    assert data["videoStatus"] == "UNPARSE"
    assert data["uploadTime"].isdigit()


def test_upload_url_takes_a_form_or_json(client: httpx.Client) -> None:
    url = "https://example.com/clips/pier_walk.mp4"
    by_form = _ok(client.post(f"{V12}/upload_url", data={"url": url, "callback": "cb"}))
    by_json = _ok(client.post(f"{V12}/upload_url", json={"url": url}))
    for data in (by_form, by_json):
        assert set(data) == {"videoNo", "videoName", "videoStatus", "uploadTime"}
        assert data["videoName"] == "pier_walk.mp4"
    assert "url" in _error(client.post(f"{V12}/upload_url", data={"url": "ftp://x/y.mp4"}))


def test_upload_without_a_file_is_refused(client: httpx.Client) -> None:
    assert "file" in _error(client.post(f"{V12}/upload", data={"callback": "x"}))


def test_an_upload_of_one_dialect_is_listed_by_the_other(client: httpx.Client) -> None:
    video_no = _upload(client)["videoNo"]
    v10 = client.get("/api/serve/video/searchDB", params={"pageSize": 200}).json()["data"]
    assert video_no in {video["videoNo"] for video in v10["videoData"]}
    old = _ok(
        client.post(
            "/api/serve/video/upload", files={"file": ("old.mp4", b"\x01" * 10, "video/mp4")}
        )
    )["videoNo"]
    listed = _ok(client.post(f"{V12}/list_videos", json={"size": 200}), FLAGGED)["videos"]
    assert {video_no, old} <= {video["video_no"] for video in listed}


# List videos.


def test_list_videos_replies_the_documented_shape(emu: MaviEmulator, client: httpx.Client) -> None:
    data = _ok(client.post(f"{V12}/list_videos", json={"page": 1, "size": 2}), FLAGGED)
    assert set(data) == {"videos", "current_page", "page_size", "total_count"}
    assert data["current_page"] == 1
    assert data["page_size"] == 2
    assert data["total_count"] == str(len(emu.video_nos))
    assert len(data["videos"]) == 2
    for video in data["videos"]:
        assert set(video) == {
            "duration", "size", "status", "cause", "video_no", "video_name", "create_time"
        }  # fmt: skip
        _all_strings(video)
        assert video["status"] == "PARSE"
        assert video["cause"] == "null"
        assert video["duration"].isdigit() and video["size"].isdigit()


def test_list_videos_filters_and_pages(emu: MaviEmulator, client: httpx.Client) -> None:
    pages = [
        _ok(client.post(f"{V12}/list_videos", json={"page": page, "size": 3}), FLAGGED)
        for page in (1, 2, 3)
    ]
    seen = [video["video_no"] for page in pages for video in page["videos"]]
    assert sorted(seen) == sorted(emu.video_nos)
    by_no = _ok(client.post(f"{V12}/list_videos", json={"video_no": KITCHEN}), FLAGGED)
    assert [video["video_no"] for video in by_no["videos"]] == [KITCHEN]
    by_name = _ok(client.post(f"{V12}/list_videos", json={"video_name": "KNIFE"}), FLAGGED)
    assert [video["video_no"] for video in by_name["videos"]] == [KITCHEN]
    unparsed = _ok(client.post(f"{V12}/list_videos", json={"status": "UNPARSE"}), FLAGGED)
    assert unparsed["videos"] == []
    assert "size" in _error(client.post(f"{V12}/list_videos", json={"size": 0}))


# Search.


def test_search_replies_a_scored_list_of_clips(client: httpx.Client) -> None:
    body = {"search_param": "onion", "search_type": "BY_VIDEO", "top_k": 3}
    clips = _ok(client.post(f"{V12}/search", json=body))
    assert isinstance(clips, list) and 0 < len(clips) <= 3
    for clip in clips:
        assert set(clip) == {"videoNo", "videoName", "startTime", "endTime", "score"}
        assert isinstance(clip["startTime"], str) and isinstance(clip["endTime"], str)
        assert int(clip["startTime"]) <= int(clip["endTime"])
        assert isinstance(clip["score"], float) and 0 < clip["score"] <= 1
    assert clips[0]["videoNo"] == KITCHEN
    scores = [clip["score"] for clip in clips]
    assert scores == sorted(scores, reverse=True)


def test_search_by_audio_finds_only_spoken_lines(client: httpx.Client) -> None:
    body = {"search_param": "harbor breakwater color", "search_type": "BY_AUDIO"}
    audio = _ok(client.post(f"{V12}/search", json=body))
    video = _ok(client.post(f"{V12}/search", json={**body, "search_type": "BY_VIDEO"}))
    assert audio and len(audio) < len(video)
    assert _ok(client.post(f"{V12}/search", json={**body, "search_type": "BY_IMAGE"})) == []


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"search_type": "BY_VIDEO"}, "search_param", "0001"),
        ({"search_param": "onion", "search_type": "BY_SMELL"}, "search_type", "0003"),
        ({"search_param": "onion", "search_type": "BY_VIDEO", "top_k": 0}, "top_k", "0001"),
    ],
)
def test_a_bad_search_is_refused(
    client: httpx.Client, body: dict[str, Any], field: str, code: str
) -> None:
    assert field in _error(client.post(f"{V12}/search", json=body), code)


# Transcriptions.


@pytest.mark.parametrize("kind", ["video", "audio"])
def test_transcription_replies_indexed_segments(client: httpx.Client, kind: str) -> None:
    reply = client.get(f"{V12}/get_{kind}_transcription", params={"video_no": HARBOR})
    data = _ok(reply, FLAGGED)
    assert set(data) == {"videoNo", "transcriptions"}
    assert data["videoNo"] == HARBOR
    assert data["transcriptions"]
    for index, item in enumerate(data["transcriptions"]):
        assert set(item) == {"index", "content", "startTime", "endTime"}
        assert item["index"] == index
        assert isinstance(item["content"], str) and item["content"]
        assert item["startTime"].isdigit() and item["endTime"].isdigit()


def test_audio_is_what_is_said_and_video_what_is_seen(client: httpx.Client) -> None:
    texts = {
        kind: [
            item["content"]
            for item in client.get(
                f"{V12}/get_{kind}_transcription", params={"video_no": HARBOR}
            ).json()["data"]["transcriptions"]
        ]
        for kind in ("audio", "video")
    }
    assert not set(texts["audio"]) & set(texts["video"])


def test_transcription_of_an_unknown_or_unparsed_video_is_refused(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    path = f"{V12}/get_audio_transcription"
    assert "VInope" in _error(client.get(path, params={"video_no": "VInope"}))
    assert "video_no" in _error(client.get(path))
    emu.parse_delay = 30.0
    fresh = _upload(client)["videoNo"]
    assert "not parsed" in _error(client.get(path, params={"video_no": fresh}))


def test_transcript_millis_applies_to_v12(emu: MaviEmulator, client: httpx.Client) -> None:
    path = f"{V12}/get_audio_transcription"
    seconds = client.get(path, params={"video_no": HARBOR}).json()["data"]["transcriptions"]
    emu.transcript_millis = True
    millis = client.get(path, params={"video_no": HARBOR}).json()["data"]["transcriptions"]
    assert int(millis[0]["endTime"]) == 1000 * int(seconds[0]["endTime"])


# Delete.


def test_delete_replies_null_data_and_a_second_delete_conflicts(client: httpx.Client) -> None:
    video_no = _upload(client)["videoNo"]
    reply = client.post(f"{V12}/delete_videos", json=[video_no], params={"unique_id": "default"})
    assert reply.json() == {
        "code": "0000", "msg": "success", "data": None, "success": True, "failed": False
    }  # fmt: skip
    assert video_no in _error(client.post(f"{V12}/delete_videos", json=[video_no]), "0409")
    v10 = client.get("/api/serve/video/searchDB", params={"pageSize": 200}).json()["data"]
    assert video_no not in {video["videoNo"] for video in v10["videoData"]}


def test_delete_takes_at_most_100(client: httpx.Client) -> None:
    assert "100" in _error(client.post(f"{V12}/delete_videos", json=["VI1"] * 101))
    assert "array" in _error(client.post(f"{V12}/delete_videos", json={"video_nos": ["VI1"]}))


# Sessions.


def test_list_sessions_lists_the_v12_chats_newest_first(client: httpx.Client) -> None:
    assert _ok(client.get(f"{V12}/list_sessions", params={"unique_id": "default"}), FLAGGED) == {
        "sessions": [], "current_page": 1, "page_size": 20, "total_count": "0"
    }  # fmt: skip
    ids = []
    for prompt in ("How does the chef dice the onion?", "What is on the board?"):
        chat = client.post(f"{V12}/chat", json={"video_nos": [KITCHEN], "prompt": prompt})
        ids.append(chat.json()["data"]["session_id"])
    data = _ok(client.get(f"{V12}/list_sessions", params={"page": 1}), FLAGGED)
    assert set(data) == {"sessions", "current_page", "page_size", "total_count"}
    assert data["total_count"] == "2"
    for session in data["sessions"]:
        assert set(session) == {"sessionId", "title"}
        assert isinstance(session["sessionId"], str) and session["sessionId"].isdigit()
    assert [s["sessionId"] for s in data["sessions"]] == ids[::-1]
    assert data["sessions"][1]["title"] == "How does the chef dice the onion?"


def test_list_sessions_pages_by_20(client: httpx.Client) -> None:
    for _ in range(21):
        client.post(f"{V12}/chat", json={"video_nos": [KITCHEN], "prompt": "Onion?"})
    first = _ok(client.get(f"{V12}/list_sessions", params={"page": 1}), FLAGGED)
    second = _ok(client.get(f"{V12}/list_sessions", params={"page": 2}), FLAGGED)
    assert (len(first["sessions"]), len(second["sessions"])) == (20, 1)
    assert second["total_count"] == "21"


# Dialects, limits, faults.


def test_the_v12_routes_are_off_with_the_v12_dialect(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.api_versions = ("v1.0",)
    assert client.post(f"{V12}/list_videos", json={}).status_code == 404
    assert client.get(f"{V12}/list_sessions").status_code == 404
    emu.api_versions = ("v1.2",)
    assert client.post(f"{V12}/list_videos", json={}).status_code == 200


def test_v12_routes_have_the_published_v12_rate_limits_of_their_own(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.rate_window = 600.0  # a second of the service's counted as 10 s: no race with the clock
    emu.rate_limits = {"list": 1, "list_v12": 2}
    client.get("/api/serve/video/searchDB")  # v1.0's listing budget, spent: not v1.2's
    for _ in range(2):
        _ok(client.post(f"{V12}/list_videos", json={}), FLAGGED)
    reply = client.post(f"{V12}/list_videos", json={})
    assert "2 list_v12 requests per 10 s" in _error(reply, "0429")
    assert int(reply.headers["retry-after"]) >= 1
    assert client.get(f"{V12}/list_sessions").json()["code"] != "0429"  # a budget of its own


def test_faults_reach_the_v12_routes(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.faults.error_envelope("0403", "disabled", path=f"{V12}/search")
    body = {"search_param": "onion", "search_type": "BY_VIDEO"}
    assert _error(client.post(f"{V12}/search", json=body), "0403") == "disabled"
    assert _ok(client.post(f"{V12}/search", json=body))
    emu.faults.http_error(503, path=f"{V12}/list_videos")
    assert client.post(f"{V12}/list_videos", json={}).status_code == 503


def test_a_v12_upload_becomes_parsed_after_parse_delay(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.parse_delay = 0.2
    video_no = _upload(client)["videoNo"]
    time.sleep(0.3)
    listed = _ok(client.post(f"{V12}/list_videos", json={"video_no": video_no}), FLAGGED)
    assert listed["videos"][0]["status"] == "PARSE"
