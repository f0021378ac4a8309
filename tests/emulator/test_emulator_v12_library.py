"""The emulator's v1.2 search, transcriptions and uploads in the shapes the service documents
(api-tools.memories.ai: platform/search-private-video, visual-search/audio-transcription,
platform/upload-video-from-file), and its v1.2 libraries kept per key and per `unique_id`."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from mavi_core.emulator import MaviEmulator
from mavi_core.emulator import _app as emulator_app

from .conftest import HARBOR, KITCHEN
from .test_emulator_v12_videos import FLAGGED, V12, _error, _ok, _upload

SEARCH = f"{V12}/search"
AUDIO = f"{V12}/get_audio_transcription"
NOT_READY = {"code": "0000", "msg": "success", "data": None, "success": True, "failed": False}


def _search(client: httpx.Client, **body: Any) -> Any:
    return _ok(client.post(SEARCH, json={"search_param": "harbor water", **body}))


# Search.


def test_search_type_defaults_to_by_clip(client: httpx.Client) -> None:
    assert _search(client) == _search(client, search_type="BY_CLIP")
    assert _search(client) == _search(client, search_type="BY_VIDEO")


def test_an_unknown_search_type_is_code_0003_naming_the_valid_ones(client: httpx.Client) -> None:
    for search_type in ("BY_SMELL", "by_clip", 5):
        msg = _error(client.post(SEARCH, json={"search_param": "a", "search_type": search_type}),
                     "0003")  # fmt: skip
        assert "BY_CLIP, BY_VIDEO, BY_AUDIO, BY_IMAGE, BY_CAPTION" in msg


def test_by_audio_hits_carry_their_words_and_by_caption_only_scenes(client: httpx.Client) -> None:
    audio = _search(client, search_type="BY_AUDIO")
    assert audio
    for hit in audio:
        assert set(hit) == {"videoNo", "videoName", "startTime", "endTime", "audio_ts", "score"}
        assert isinstance(hit["audio_ts"], str) and hit["audio_ts"]
    captions = _search(client, search_type="BY_CAPTION", top_k=200)
    clips = _search(client, top_k=1000)
    assert captions and all("audio_ts" not in hit for hit in captions + clips)
    assert len(captions) + len(_search(client, search_type="BY_AUDIO", top_k=1000)) == len(clips)
    assert _search(client, search_type="BY_IMAGE") == []


@pytest.mark.parametrize(
    ("search_type", "most"), [("BY_CLIP", 1000), ("BY_AUDIO", 1000), ("BY_CAPTION", 200)]
)
def test_top_k_is_1_to_1000_or_200_for_captions(
    client: httpx.Client, search_type: str, most: int
) -> None:
    assert isinstance(_search(client, search_type=search_type, top_k=most), list)
    for top_k in (most + 1, 0, "5", 2.5):
        reply = client.post(SEARCH, json={"search_param": "a", "search_type": search_type,
                                          "top_k": top_k})  # fmt: skip
        assert f"1 to {most}" in _error(reply)


def test_video_nos_restricts_the_search_to_those_videos(client: httpx.Client) -> None:
    everywhere = _search(client, top_k=1000)
    assert {hit["videoNo"] for hit in everywhere} > {HARBOR}
    harbor = _search(client, top_k=1000, video_nos=[HARBOR])
    assert harbor and {hit["videoNo"] for hit in harbor} == {HARBOR}
    assert harbor == [hit for hit in everywhere if hit["videoNo"] == HARBOR]
    assert _search(client, video_nos=["VInope"]) == []
    assert "100" in _error(client.post(SEARCH, json={"search_param": "a",
                                                     "video_nos": [HARBOR] * 101}))  # fmt: skip
    assert "video_nos" in _error(client.post(SEARCH, json={"search_param": "a",
                                                           "video_nos": HARBOR}))  # fmt: skip


# Transcriptions: data null while there is none.


def test_a_video_without_sound_has_a_null_audio_transcription(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.parse_delay = 0
    silent = _upload(client, "Silent_Drone_Shot.mp4")["videoNo"]
    assert client.get(AUDIO, params={"video_no": silent}).json() == NOT_READY
    shown = _ok(client.get(f"{V12}/get_video_transcription", params={"video_no": silent}),
                FLAGGED)  # fmt: skip
    assert shown["transcriptions"]


def test_a_transcription_is_null_until_it_is_ready(emu: MaviEmulator, client: httpx.Client) -> None:
    """Transcripts are made `parse_delay` seconds after the video was parsed."""
    emu.parse_delay = 0
    ready = _upload(client, "pier_walk.mp4")["videoNo"]
    assert _ok(client.get(AUDIO, params={"video_no": ready}), FLAGGED)["transcriptions"]
    emu.parse_delay = 0.2
    fresh = _upload(client, "pier_walk.mp4")["videoNo"]
    emu.parse_delay = 3600  # parsed (it kept its own delay), its transcript an hour away
    for _ in range(500):
        listed = _ok(client.post(f"{V12}/list_videos", json={"video_no": fresh}), FLAGGED)
        if listed["videos"][0]["status"] == "PARSE":
            break
        time.sleep(0.01)
    assert listed["videos"][0]["status"] == "PARSE"
    assert client.get(AUDIO, params={"video_no": fresh}).json() == NOT_READY


# Uploads: type and size.


@pytest.mark.parametrize(
    ("name", "content_type", "words"),
    [
        ("clip.webm", "video/webm", ".mp4, .avi, .mkv, .mov"),
        ("clip", "video/mp4", ".mp4, .avi, .mkv, .mov"),
        ("clip.mp4", "application/octet-stream", "video/"),
        ("clip.mp4", "image/png", "video/"),
    ],
)
def test_an_upload_of_another_type_is_refused(
    client: httpx.Client, name: str, content_type: str, words: str
) -> None:
    files = {"file": (name, b"\x00" * 100, content_type)}
    assert words in _error(client.post(f"{V12}/upload", files=files))


def test_an_upload_over_3_gb_is_refused(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulator_app, "V12_MAX_UPLOAD_BYTES", 99)  # 3 GB does not fit a test
    files = {"file": ("clip.MKV", b"\x00" * 100, "video/x-matroska")}
    assert "3 GB" in _error(client.post(f"{V12}/upload", files=files))
    files = {"file": ("clip.MKV", b"\x00" * 99, "video/x-matroska")}
    assert _ok(client.post(f"{V12}/upload", files=files))["videoName"] == "clip.MKV"


# One library per key and namespace.


def _names(client: httpx.Client, **headers_and_body: Any) -> set[str]:
    listed = _ok(client.post(f"{V12}/list_videos", **headers_and_body), FLAGGED)
    return {video["video_no"] for video in listed["videos"]}


def test_an_upload_belongs_to_its_namespace(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.parse_delay = 0
    mine = _upload(client, "alice_harbor.mp4", unique_id="alice")["videoNo"]
    url = _ok(client.post(f"{V12}/upload_url", data={"url": "https://e.example/bob.mp4",
                                                     "unique_id": "bob"}))  # fmt: skip
    assert mine in _names(client, json={"unique_id": "alice"})
    assert mine not in _names(client, json={"unique_id": "bob"}) | _names(client, json={})
    assert url["videoNo"] in _names(client, json={"unique_id": "bob"})
    samples = set(emu.video_nos)
    assert samples <= _names(client, json={"unique_id": "bob"})  # the samples are everywhere
    alice = {hit["videoNo"] for hit in _search(client, search_param="alice harbor",
                                               unique_id="alice", top_k=1000)}  # fmt: skip
    bob = {hit["videoNo"] for hit in _search(client, search_param="alice harbor",
                                             unique_id="bob", top_k=1000)}  # fmt: skip
    assert mine in alice and mine not in bob
    elsewhere = client.get(AUDIO, params={"video_no": mine, "unique_id": "bob"})
    assert mine in _error(elsewhere)
    assert mine in _error(client.post(f"{V12}/delete_videos", json=[mine],
                                      params={"unique_id": "bob"}), "0409")  # fmt: skip
    assert _ok(client.get(AUDIO, params={"video_no": mine, "unique_id": "alice"}), FLAGGED)


def test_an_upload_belongs_to_its_key(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.parse_delay = 0
    mine = _upload(client, "team_clip.mp4")["videoNo"]
    token = emu.issue_tokens()["accessToken"]
    other = {"Authorization": f"Bearer {token}"}
    assert mine in _names(client, json={})
    assert mine not in _names(client, json={}, headers=other)
    assert KITCHEN in _names(client, json={}, headers=other)
    reply = client.get(AUDIO, params={"video_no": mine}, headers=other)
    assert mine in _error(reply)


def test_deleting_a_sample_hides_it_from_that_library_only(client: httpx.Client) -> None:
    deleted = client.post(f"{V12}/delete_videos", json=[KITCHEN], params={"unique_id": "carol"})
    assert _ok(deleted, FLAGGED) is None
    assert KITCHEN not in _names(client, json={"unique_id": "carol"})
    assert KITCHEN in _names(client, json={})
    assert KITCHEN in _names(client, json={"unique_id": "dave"})
    assert "unique_id" in _error(client.post(f"{V12}/list_videos", json={"unique_id": " "}))


def test_the_chat_reads_the_library_of_its_key_and_namespace(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    """As search does: a video of another key or `unique_id` does not exist for the chat."""
    emu.parse_delay = 0
    mine = _upload(client, "alice_harbor.mp4", unique_id="alice")["videoNo"]
    other = {"Authorization": f"Bearer {emu.issue_tokens()['accessToken']}"}
    ask = {"video_nos": [mine], "prompt": "What happens at the harbor?"}
    missing = f"Video does not exist: {mine}"
    assert _ok(client.post(f"{V12}/chat", json={**ask, "unique_id": "alice"}), FLAGGED)
    streamed = client.post(f"{V12}/chat_stream", json={**ask, "unique_id": "alice"}).content
    assert streamed.endswith(b'data:"Done"\n\n')
    for body, headers in (({**ask, "unique_id": "bob"}, {}), (ask, {}),
                          ({**ask, "unique_id": "alice"}, other)):  # fmt: skip
        assert _error(client.post(f"{V12}/chat", json=body, headers=headers)) == missing
        refused = client.post(f"{V12}/chat_stream", json=body, headers=headers)
        assert refused.content == f'data:"{missing}"\n\n'.encode()
    # The samples are in every library.
    sample = {"video_nos": [KITCHEN], "prompt": "onion?", "unique_id": "bob"}
    assert _ok(client.post(f"{V12}/chat", json=sample, headers=other), FLAGGED)["content"]
