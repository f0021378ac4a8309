"""The shape of every reply: exact keys and JSON types, as the live v1.0 service sends them.

Numbers the service sends as strings (upload times in ms, durations and moment times in s) are
strings here too; transcription times are numbers. A change here is a change of the wire
contract the clients are built on.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest

from mavi_core.emulator import MaviEmulator

V = "/api/serve/video"
KITCHEN = "VI634021601844219905"
HARBOR = "VI634021587219364352"
JSON_TYPE = "application/json;charset=UTF-8"
VIDEO_NO = re.compile(r"mavi_video_\d{18}")

VIDEO_KEYS = {"videoNo", "videoName", "videoStatus", "uploadTime", "duration"}
FRAGMENT_KEYS = {
    "videoNo",
    "videoName",
    "videoStatus",
    "uploadTime",
    "fragmentStartTime",
    "fragmentEndTime",
    "duration",
}


def _data(reply: httpx.Response) -> Any:
    """`data` of a success envelope, after checking the envelope and its content type."""
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == JSON_TYPE
    payload = reply.json()
    assert set(payload) == {"code", "msg", "data"}
    assert (payload["code"], payload["msg"]) == ("0000", "success")
    return payload["data"]


def _digits(value: object) -> bool:
    return isinstance(value, str) and value.isdigit()


def _assert_video(item: dict[str, Any]) -> None:
    assert set(item) == VIDEO_KEYS
    assert all(isinstance(item[key], str) for key in ("videoNo", "videoName", "videoStatus"))
    assert _digits(item["uploadTime"]) and len(item["uploadTime"]) == 13  # milliseconds
    assert _digits(item["duration"])


def test_upload_reply(client: httpx.Client) -> None:
    data = _data(client.post(f"{V}/upload", files={"file": ("a.mp4", b"\0" * 64, "video/mp4")}))
    assert set(data) == {"videoNo", "videoName", "videoStatus", "uploadTime"}
    assert VIDEO_NO.fullmatch(data["videoNo"])
    assert (data["videoName"], data["videoStatus"]) == ("a.mp4", "UNPARSE")
    assert _digits(data["uploadTime"])


def test_upload_url_reply(client: httpx.Client) -> None:
    data = _data(client.post(f"{V}/uploadUrl", json={"url": "https://example.com/b.mp4"}))
    assert set(data) == {"videoNo", "videoName", "videoStatus", "uploadTime"}
    assert VIDEO_NO.fullmatch(data["videoNo"])


def test_uploads_get_distinct_numbers(client: httpx.Client) -> None:
    numbers = {
        _data(client.post(f"{V}/uploadUrl", json={"url": f"https://example.com/{i}.mp4"}))[
            "videoNo"
        ]
        for i in range(20)
    }
    assert len(numbers) == 20


def test_search_db_reply(client: httpx.Client) -> None:
    data = _data(client.get(f"{V}/searchDB", params={"page": 1, "pageSize": 5}))
    assert set(data) == {"page", "current", "total", "pageSize", "videoData"}
    assert (data["page"], data["current"], data["pageSize"], data["total"]) == (1, 1, 5, 7)
    assert len(data["videoData"]) == 5
    for item in data["videoData"]:
        _assert_video(item)


def test_search_ai_reply(client: httpx.Client) -> None:
    data = _data(client.post(f"{V}/searchAI", json={"searchValue": "boats harbor"}))
    assert set(data) == {"videos"}
    assert data["videos"]
    for item in data["videos"]:
        _assert_video(item)


def test_search_fragment_reply(client: httpx.Client) -> None:
    body = {"videoNos": [KITCHEN, HARBOR], "searchValue": "onion boats"}
    data = _data(client.post(f"{V}/searchVideoFragment", json=body))
    assert set(data) == {"videos"}
    assert len(data["videos"]) > 1
    for item in data["videos"]:
        assert set(item) == FRAGMENT_KEYS  # no score: the live service sends none
        assert item["videoNo"] in (KITCHEN, HARBOR)
        assert isinstance(item["videoName"], str) and item["videoStatus"] == "PARSE"
        assert _digits(item["uploadTime"])
        for key in ("fragmentStartTime", "fragmentEndTime", "duration"):
            assert _digits(item[key]), (key, item[key])  # seconds, as strings
        assert int(item["fragmentStartTime"]) < int(item["fragmentEndTime"])
        assert int(item["fragmentEndTime"]) <= int(item["duration"])


def test_search_fragment_reply_with_opt_in_scores(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.fragment_scores = True
    body = {"videoNos": [KITCHEN], "searchValue": "onion"}
    data = _data(client.post(f"{V}/searchVideoFragment", json=body))
    for item in data["videos"]:
        assert set(item) == FRAGMENT_KEYS | {"score"}
        assert isinstance(item["score"], float) and 0 < item["score"] <= 1


@pytest.mark.parametrize("kind", ["AUDIO", "VIDEO"])
def test_transcription_replies(emu: MaviEmulator, client: httpx.Client, kind: str) -> None:
    emu.parse_delay = 0.2
    submitted = _data(client.post(f"{V}/subTranscription", json={"videoNo": HARBOR, "type": kind}))
    assert set(submitted) == {"taskNo"} and isinstance(submitted["taskNo"], str)
    task_no = submitted["taskNo"]
    pending = _data(client.get(f"{V}/getTranscription", params={"taskNo": task_no}))
    time.sleep(0.25)
    done = _data(client.get(f"{V}/getTranscription", params={"taskNo": task_no}))
    keys = {"status", "type", "videoNo", "taskNo", "transcriptions"}
    for data, status in ((pending, "UNFINISHED"), (done, "FINISH")):
        assert set(data) == keys
        assert (data["status"], data["type"], data["videoNo"]) == (status, kind, HARBOR)
        assert data["taskNo"] == task_no
    assert pending["transcriptions"] == []
    assert done["transcriptions"]
    for item in done["transcriptions"]:
        assert set(item) == {"startTime", "endTime", "content"}  # no id
        assert isinstance(item["startTime"], int) and isinstance(item["endTime"], int)
        assert isinstance(item["content"], str) and item["content"]


def test_delete_reply(client: httpx.Client) -> None:
    reply = client.request("DELETE", f"{V}/delete", json=[HARBOR])
    assert reply.headers["content-type"] == JSON_TYPE
    assert reply.json() == {"code": "0000", "msg": "success", "data": None}


def test_token_replies(emu: MaviEmulator, anon: httpx.Client) -> None:
    body = {"clientId": emu.client_id, "code": emu.authorization_code()}
    issued = _data(anon.post("/auth/api/token/getAccessToken", json=body))
    assert set(issued) == {"accessToken", "type", "expiresIn", "refreshToken", "refreshExpiresIn"}
    assert isinstance(issued["expiresIn"], int) and isinstance(issued["refreshExpiresIn"], int)
    refresh = {"refreshToken": issued["refreshToken"]}
    refreshed = _data(anon.post("/auth/api/token/refreshAccessToken", json=refresh))
    assert set(refreshed) == {"accessToken", "expiresIn", "type"}


def test_business_error_reply(client: httpx.Client) -> None:
    reply = client.post(f"{V}/searchAI", json={})
    assert (reply.status_code, reply.headers["content-type"]) == (200, JSON_TYPE)
    payload = reply.json()
    assert set(payload) == {"code", "msg"}  # no data
    assert payload["code"] == "0001" and payload["msg"].endswith(".")


def test_chat_events(client: httpx.Client) -> None:
    body = {"videoNos": [KITCHEN], "message": "onion", "history": [], "stream": True}
    reply = client.post(f"{V}/chat", json=body)
    assert reply.headers["content-type"] == "text/event-stream;charset=UTF-8"
    blocks = [block for block in reply.content.decode("utf-8").split("\n\n") if block]
    assert len(blocks) > 5
    for block in blocks:
        assert block.startswith("data:") and "\n" not in block
        event = json.loads(block[len("data:") :])
        assert set(event) == {"code", "msg", "data"} and set(event["data"]) == {"msg"}
        assert isinstance(event["data"]["msg"], str)


def test_rate_limited_chat_reply(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.rate_limit = 1
    body = {"videoNos": [KITCHEN], "message": "onion", "history": [], "stream": False}
    client.post(f"{V}/chat", json=body)
    reply = client.post(f"{V}/chat", json=body)
    assert (reply.status_code, reply.headers["content-type"]) == (200, JSON_TYPE)
    assert set(reply.json()) == {"code", "msg"} and reply.json()["code"] == "0429"
    assert reply.headers["retry-after"].isdigit()
