"""The emulator's transcripts tell the story its moment search and chat tell: every moment found
and every moment an answer cites is a line of the audio or visual transcript, with its text."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from mavi_core.emulator import MaviEmulator

V = "/api/serve/video"
CITATION = re.compile(
    r"(?P<name>[\w.\-]+\.mp4) at (?P<start>\d+):(?P<s>\d\d)–(?P<end>\d+):(?P<e>\d\d)"
)


def _data(response: httpx.Response) -> Any:
    body = response.json()
    assert body["code"] == "0000", body
    return body["data"]


def transcript(client: httpx.Client, video_no: str, kind: str) -> list[dict[str, Any]]:
    task_no = _data(client.post(f"{V}/subTranscription", json={"videoNo": video_no, "type": kind}))
    for _ in range(100):
        reply = _data(client.get(f"{V}/getTranscription", params={"taskNo": task_no["taskNo"]}))
        if reply["status"] == "FINISH":
            return list(reply["transcriptions"])
        time.sleep(0.05)
    raise AssertionError("the transcription did not finish")


@pytest.fixture
def lines(emu: MaviEmulator, client: httpx.Client) -> dict[str, set[tuple[int, int]]]:
    """Every sample video's transcript lines (audio and visual), as (start, end) in seconds."""
    emu.parse_delay = 0
    return {
        video_no: {
            (line["startTime"], line["endTime"])
            for kind in ("AUDIO", "VIDEO")
            for line in transcript(client, video_no, kind)
        }
        for video_no in emu.video_nos
    }


@pytest.mark.parametrize("query", ["rain", "onion", "a boat leaves the harbor", "bees", "fog"])
def test_every_moment_found_is_a_transcript_line(
    client: httpx.Client, emu: MaviEmulator, lines: dict[str, set[tuple[int, int]]], query: str
) -> None:
    found = _data(
        client.post(
            f"{V}/searchVideoFragment", json={"videoNos": emu.video_nos, "searchValue": query}
        )
    )["videos"]

    assert found
    for moment in found:
        start, end = int(moment["fragmentStartTime"]), int(moment["fragmentEndTime"])
        assert (start, end) in lines[moment["videoNo"]]


def test_every_moment_an_answer_cites_is_a_transcript_line(
    client: httpx.Client, emu: MaviEmulator, lines: dict[str, set[tuple[int, int]]]
) -> None:
    names = {}
    for video in _data(client.get(f"{V}/searchDB"))["videoData"]:
        names[video["videoName"]] = video["videoNo"]
    body = {"videoNos": emu.video_nos, "message": "What happens in the rain?", "history": []}
    answer = client.post(f"{V}/chat", json={**body, "stream": False}).text

    citations = list(CITATION.finditer(answer))
    assert citations
    for cited in citations:
        start = int(cited["start"]) * 60 + int(cited["s"])
        end = int(cited["end"]) * 60 + int(cited["e"])
        assert (start, end) in lines[names[cited["name"]]]


def test_transcript_lines_lie_within_their_video(
    client: httpx.Client, emu: MaviEmulator, lines: dict[str, set[tuple[int, int]]]
) -> None:
    durations = {
        video["videoNo"]: int(video["duration"])
        for video in _data(client.get(f"{V}/searchDB"))["videoData"]
    }
    for video_no, spans in lines.items():
        assert all(0 <= start <= end <= durations[video_no] for start, end in spans)


def test_times_in_milliseconds_on_request(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.parse_delay = 0
    emu.transcript_millis = True

    first = transcript(client, emu.video_nos[0], "AUDIO")[0]

    assert (first["startTime"], first["endTime"]) == (2000, 9000)
