"""Upload, uploadUrl, searchDB, searchAI, searchVideoFragment, transcription and delete."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from mavi_core.emulator import MaviEmulator

V = "/api/serve/video"
KITCHEN = "VI634021601844219905"
HARBOR = "VI634021587219364352"
ROBOTICS = "VI634021668301945278"
GARDEN = "VI634021622093318146"
DAY_MS = 24 * 3600 * 1000


def _upload(client: httpx.Client, name: str = "family_picnic.mp4") -> dict[str, str]:
    reply = client.post(f"{V}/upload", files={"file": (name, b"\x00\x01" * 500, "video/mp4")})
    assert reply.json()["code"] == "0000", reply.text
    return dict(reply.json()["data"])


def _status(client: httpx.Client, video_no: str) -> str:
    videos = client.get(f"{V}/searchDB", params={"pageSize": 200}).json()["data"]["videoData"]
    return next(str(v["videoStatus"]) for v in videos if v["videoNo"] == video_no)


# -- upload ---------------------------------------------------------------------------------


def test_upload_returns_a_new_unparsed_video(client: httpx.Client) -> None:
    data = _upload(client)
    assert set(data) == {"videoNo", "videoName", "videoStatus", "uploadTime"}
    assert re.fullmatch(r"mavi_video_\d{18}", data["videoNo"]), data["videoNo"]
    assert data["videoName"] == "family_picnic.mp4"
    assert data["videoStatus"] == "UNPARSE"
    assert data["uploadTime"].isdigit()


def test_uploaded_video_is_parsed_after_parse_delay(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.parse_delay = 0.2
    video_no = _upload(client)["videoNo"]
    assert _status(client, video_no) == "UNPARSE"
    time.sleep(0.25)
    assert _status(client, video_no) == "PARSE"


def test_uploaded_video_gets_synthetic_content_to_chat_about(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.parse_delay = 0
    video_no = _upload(client, "family_picnic.mp4")["videoNo"]
    body = {"videoNos": [video_no], "message": "picnic", "history": [], "stream": False}
    answer = client.post(f"{V}/chat", json=body).text
    assert "[synthetic]" in answer
    assert "family_picnic.mp4 at 00:00" in answer


def test_upload_records_file_name_and_size_not_bytes(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    client.post(
        f"{V}/upload",
        params={"callBackUri": "http://localhost/cb"},
        files={"file": ("a.mp4", b"x" * 10)},
    )
    recorded = emu.requests[-1]
    assert recorded.query == {"callBackUri": "http://localhost/cb"}
    assert recorded.body == {"file": {"filename": "a.mp4", "content_type": "video/mp4", "size": 10}}


def test_upload_without_a_file_part_gets_0001(client: httpx.Client) -> None:
    reply = client.post(f"{V}/upload", files={"video": ("a.mp4", b"x")})
    assert reply.json()["code"] == "0001"
    assert reply.json()["msg"].startswith("file")


def test_upload_url_registers_a_video_named_after_the_url(client: httpx.Client) -> None:
    reply = client.post(
        f"{V}/uploadUrl", json={"url": "https://example.com/media/lake_swim.mp4?x=1"}
    )
    data = reply.json()["data"]
    assert data["videoName"] == "lake_swim.mp4"
    assert data["videoStatus"] == "UNPARSE"


@pytest.mark.parametrize("body", [{}, {"url": "ftp://example.com/a.mp4"}, {"url": 5}])
def test_upload_url_needs_an_http_url(client: httpx.Client, body: dict[str, object]) -> None:
    reply = client.post(f"{V}/uploadUrl", json=body).json()
    assert reply["code"] == "0001"
    assert reply["msg"].startswith("url")


# -- searchDB -------------------------------------------------------------------------------


def test_search_db_lists_the_samples_with_numbers_as_strings(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    data = client.get(f"{V}/searchDB").json()["data"]
    assert data["total"] == len(emu.video_nos)
    assert {v["videoNo"] for v in data["videoData"]} == set(emu.video_nos)
    first = data["videoData"][0]
    assert set(first) == {"videoNo", "videoName", "videoStatus", "uploadTime", "duration"}
    assert isinstance(first["uploadTime"], str) and isinstance(first["duration"], str)
    assert all(v["videoStatus"] == "PARSE" for v in data["videoData"])


def test_search_db_pages_newest_first(client: httpx.Client) -> None:
    page1 = client.get(f"{V}/searchDB", params={"page": 1, "pageSize": 3}).json()["data"]
    page3 = client.get(f"{V}/searchDB", params={"page": 3, "pageSize": 3}).json()["data"]
    assert (page1["page"], page1["current"], page1["pageSize"], page1["total"]) == (1, 1, 3, 7)
    assert len(page1["videoData"]) == 3 and len(page3["videoData"]) == 1
    times = [int(v["uploadTime"]) for v in page1["videoData"]]
    assert times == sorted(times, reverse=True)


def test_search_db_filters_by_upload_time_range(client: httpx.Client) -> None:
    listed = client.get(f"{V}/searchDB").json()["data"]["videoData"]
    uploaded = {v["videoNo"]: int(v["uploadTime"]) for v in listed}
    params = {"startTime": uploaded[KITCHEN], "endTime": uploaded[GARDEN]}
    videos = client.get(f"{V}/searchDB", params=params).json()["data"]["videoData"]
    assert {v["videoNo"] for v in videos} == {KITCHEN, GARDEN}


def test_samples_were_uploaded_in_the_last_7_days(emu: MaviEmulator, client: httpx.Client) -> None:
    now_ms = int(time.time() * 1000)
    params = {"startTime": now_ms - 7 * DAY_MS, "endTime": now_ms}
    data = client.get(f"{V}/searchDB", params=params).json()["data"]
    assert {v["videoNo"] for v in data["videoData"]} == set(emu.video_nos)
    oldest = min(int(v["uploadTime"]) for v in data["videoData"])
    assert oldest < now_ms - 2 * DAY_MS  # spread over days, not all uploaded at start-up


def test_search_db_caps_a_page_size_above_200(client: httpx.Client) -> None:
    reply = client.get(f"{V}/searchDB", params={"pageSize": 1000}).json()
    assert reply["code"] == "0000"
    assert reply["data"]["pageSize"] == 200
    assert reply["data"]["total"] == len(reply["data"]["videoData"]) == 7


def test_search_db_filters_by_name_substring(client: httpx.Client) -> None:
    videos = client.get(f"{V}/searchDB", params={"videoName": "HARBOR"}).json()["data"]["videoData"]
    assert [v["videoNo"] for v in videos] == [HARBOR]


def test_search_db_filters_by_status(client: httpx.Client) -> None:
    video_no = _upload(client)["videoNo"]
    videos = client.get(f"{V}/searchDB", params={"videoStatus": "UNPARSE"}).json()["data"]
    assert [v["videoNo"] for v in videos["videoData"]] == [video_no]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"pageSize": 0}, "pageSize"), ({"page": 0}, "page"), ({"startTime": "soon"}, "startTime")],
)
def test_search_db_rejects_bad_paging(
    client: httpx.Client, params: dict[str, str | int], field: str
) -> None:
    reply = client.get(f"{V}/searchDB", params=params).json()
    assert reply["code"] == "0001"
    assert reply["msg"].startswith(field)


# -- searchAI and searchVideoFragment --------------------------------------------------------


def test_search_ai_finds_videos_by_content(client: httpx.Client) -> None:
    reply = client.post(f"{V}/searchAI", json={"searchValue": "battery connector trophy"})
    videos = reply.json()["data"]["videos"]
    assert [v["videoNo"] for v in videos] == [ROBOTICS]
    assert videos[0]["videoName"] == "robotics_club_competition.mp4"


def test_search_ai_requires_a_search_value(client: httpx.Client) -> None:
    assert client.post(f"{V}/searchAI", json={}).json()["code"] == "0001"


def test_search_fragment_sends_moments_best_first_without_a_score(client: httpx.Client) -> None:
    body = {"videoNos": [ROBOTICS, KITCHEN], "searchValue": "battery connector"}
    videos = client.post(f"{V}/searchVideoFragment", json=body).json()["data"]["videos"]
    best = videos[0]
    assert best == {
        "videoNo": ROBOTICS,
        "videoName": "robotics_club_competition.mp4",
        "videoStatus": "PARSE",
        "uploadTime": best["uploadTime"],
        "fragmentStartTime": "245",
        "fragmentEndTime": "300",
        "duration": "540",
    }
    assert best["uploadTime"].isdigit()


def test_search_fragment_scores_are_opt_in(emu: MaviEmulator, client: httpx.Client) -> None:
    body = {"videoNos": [ROBOTICS, KITCHEN], "searchValue": "battery connector"}
    unscored = client.post(f"{V}/searchVideoFragment", json=body).json()["data"]["videos"]
    emu.fragment_scores = True
    videos = client.post(f"{V}/searchVideoFragment", json=body).json()["data"]["videos"]
    assert [{k: v for k, v in video.items() if k != "score"} for video in videos] == unscored
    assert videos[0]["score"] == 1.0
    assert [v["score"] for v in videos] == sorted((v["score"] for v in videos), reverse=True)


def test_search_fragment_only_searches_the_given_videos(client: httpx.Client) -> None:
    body = {"videoNos": [HARBOR], "searchValue": "battery connector"}
    assert client.post(f"{V}/searchVideoFragment", json=body).json()["data"]["videos"] == []


def test_search_fragment_validates_video_nos(client: httpx.Client) -> None:
    body = {"videoNos": [], "searchValue": "boats"}
    reply = client.post(f"{V}/searchVideoFragment", json=body).json()
    assert reply["code"] == "0001"
    assert reply["msg"].startswith("videoNos")


@pytest.mark.parametrize("path", ["searchVideoFragment", "searchAI"])
def test_search_honours_the_limit_the_vendors_sdk_sends(client: httpx.Client, path: str) -> None:
    """The vendor's SDK sends `limit` (null for "all") on both searches, next to the
    documented fields: at most that many results, the best first, the rest unchanged."""
    body: dict[str, object] = {"searchValue": "the light water boats onion battery garden"}
    if path == "searchVideoFragment":
        body["videoNos"] = [ROBOTICS, KITCHEN, HARBOR, GARDEN]
    unlimited = client.post(f"{V}/{path}", json=body).json()["data"]["videos"]
    assert len(unlimited) >= 3
    for limit, expected in [(2, unlimited[:2]), ("1", unlimited[:1]), (None, unlimited)]:
        reply = client.post(f"{V}/{path}", json={**body, "limit": limit}).json()
        assert reply["code"] == "0000", reply
        assert reply["data"]["videos"] == expected


@pytest.mark.parametrize("limit", [0, -1, "ten", True, 2.5])
def test_a_limit_that_is_not_a_whole_number_from_one_is_refused(
    client: httpx.Client, limit: object
) -> None:
    body = {"videoNos": [ROBOTICS], "searchValue": "battery", "limit": limit}
    reply = client.post(f"{V}/searchVideoFragment", json=body).json()
    assert reply["code"] == "0001"
    assert reply["msg"].startswith("limit must be a whole number from 1")


# -- transcription --------------------------------------------------------------------------


def test_transcription_is_unfinished_then_finished(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.parse_delay = 0.2
    task = client.post(f"{V}/subTranscription", json={"videoNo": HARBOR, "type": "AUDIO"})
    task_no = task.json()["data"]["taskNo"]
    pending = client.get(f"{V}/getTranscription", params={"taskNo": task_no}).json()["data"]
    time.sleep(0.25)
    done = client.get(f"{V}/getTranscription", params={"taskNo": task_no}).json()["data"]
    common = {"type": "AUDIO", "videoNo": HARBOR, "taskNo": task_no}
    assert pending == {"status": "UNFINISHED", **common, "transcriptions": []}
    assert {k: v for k, v in done.items() if k != "transcriptions"} == {
        "status": "FINISH",
        **common,
    }
    assert done["transcriptions"][0] == {
        "startTime": 2,
        "endTime": 9,
        "content": "It is five in the morning and the harbor is still asleep.",
    }


def test_video_transcription_describes_scenes(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.parse_delay = 0
    task_no = client.post(
        f"{V}/subTranscription", json={"videoNo": HARBOR, "type": "VIDEO"}
    ).json()["data"]["taskNo"]
    lines = client.get(f"{V}/getTranscription", params={"taskNo": task_no}).json()["data"]
    assert lines["transcriptions"][0]["content"].startswith("Pre-dawn blue light")


@pytest.mark.parametrize(
    "body",
    [{"videoNo": HARBOR, "type": "TEXT"}, {"type": "AUDIO"}, {"videoNo": "VI1", "type": "AUDIO"}],
)
def test_sub_transcription_validates_its_body(client: httpx.Client, body: dict[str, str]) -> None:
    assert client.post(f"{V}/subTranscription", json=body).json()["code"] == "0001"


def test_unknown_transcription_task_gets_0001(client: httpx.Client) -> None:
    reply = client.get(f"{V}/getTranscription", params={"taskNo": "TK-nope"}).json()
    assert reply["code"] == "0001"


# -- delete ---------------------------------------------------------------------------------


def test_delete_removes_videos(client: httpx.Client) -> None:
    video_no = _upload(client)["videoNo"]
    reply = client.request("DELETE", f"{V}/delete", json=[video_no])
    assert reply.json() == {"code": "0000", "msg": "success", "data": None}
    videos = client.get(f"{V}/searchDB").json()["data"]["videoData"]
    assert video_no not in {v["videoNo"] for v in videos}


def test_deleting_twice_gets_0409(client: httpx.Client) -> None:
    client.request("DELETE", f"{V}/delete", json=[HARBOR])
    reply = client.request("DELETE", f"{V}/delete", json=[HARBOR]).json()
    assert reply["code"] == "0409"
    assert HARBOR in reply["msg"]


def test_delete_with_an_unknown_video_deletes_nothing(client: httpx.Client) -> None:
    client.request("DELETE", f"{V}/delete", json=[KITCHEN, "VI000000000000000000"])
    assert client.get(f"{V}/searchDB").json()["data"]["total"] == 7


@pytest.mark.parametrize("body", [{"videoNos": [KITCHEN]}, [], ["VI1"] * 501, [1]])
def test_delete_needs_a_bare_array_of_at_most_500(client: httpx.Client, body: object) -> None:
    assert client.request("DELETE", f"{V}/delete", json=body).json()["code"] == "0001"


def test_reset_restores_deleted_samples_and_drops_uploads(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    _upload(client)
    client.request("DELETE", f"{V}/delete", json=[HARBOR])
    emu.reset()
    videos = client.get(f"{V}/searchDB").json()["data"]["videoData"]
    assert {v["videoNo"] for v in videos} == set(emu.video_nos)


# -- routing ----------------------------------------------------------------------------------


def test_unknown_path_gets_404_envelope(client: httpx.Client) -> None:
    reply = client.get("/api/serve/video/nothing")
    assert reply.status_code == 404
    assert reply.json()["code"] == "0404"


def test_wrong_method_gets_405_envelope(client: httpx.Client) -> None:
    reply = client.get(f"{V}/chat")
    assert reply.status_code == 405
    assert reply.headers["allow"] == "POST"
