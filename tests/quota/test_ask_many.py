"""Bulk questions: paced, in order, failures as values, resumable from a JSONL checkpoint."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mavi_core import AsyncMaviClient, MaviClient, MaviInvalidRequestError, RateLimit
from mavi_core.emulator import MaviEmulator


@pytest.fixture
def emu() -> Iterator[MaviEmulator]:
    with MaviEmulator(rate_limits={"chat": 5}, rate_window=1.0) as emulator:
        yield emulator


def _client(emu: MaviEmulator, kind: str) -> MaviClient | AsyncMaviClient:
    # A wide margin: on a loaded machine a turn may reach the server late (see worker.py).
    limit = RateLimit(time_scale=1.0 / 60, budgets={"chat": 5}, margin=0.4)
    cls = MaviClient if kind == "sync" else AsyncMaviClient
    return cls(emu.api_key, base_url=emu.base_url, max_retries=0, rate_limit=limit)


def _ask(client: MaviClient | AsyncMaviClient, *args: object, **kwargs: object) -> list[object]:
    result = client.ask_many(*args, **kwargs)  # type: ignore[arg-type]
    return asyncio.run(result) if asyncio.iscoroutine(result) else result  # type: ignore[no-any-return]


def _chats(emu: MaviEmulator) -> int:
    return sum(request.path.endswith("/chat") for request in emu.requests)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_one_question_of_many_videos_in_order_with_failures_as_values(
    emu: MaviEmulator, kind: str
) -> None:
    videos = [*emu.video_nos, "VI_does_not_exist", *emu.video_nos]
    answers = _ask(_client(emu, kind), "What happens?", videos)
    assert [answer.video_nos for answer in answers] == [(video,) for video in videos]
    failed = [answer for answer in answers if not answer.ok]
    assert [answer.video_nos for answer in failed] == [("VI_does_not_exist",)]
    assert isinstance(failed[0].error, MaviInvalidRequestError) and failed[0].text is None
    assert all(answer.text for answer in answers if answer.ok)  # paced: nothing refused


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_many_questions_of_the_same_videos(emu: MaviEmulator, kind: str) -> None:
    questions = ["Who is there?", "What do they do?", "How does it end?"]
    answers = _ask(_client(emu, kind), questions, emu.video_nos[:2])
    assert [answer.question for answer in answers] == questions
    assert all(answer.video_nos == tuple(emu.video_nos[:2]) for answer in answers)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_checkpoint_resumes_after_an_interruption(
    emu: MaviEmulator, kind: str, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "answers.jsonl"
    client = _client(emu, kind)
    first = _ask(client, "What happens?", emu.video_nos[:3], checkpoint=checkpoint)
    lines = checkpoint.read_text().splitlines()
    assert len(lines) == 3
    # An interruption: the third answer never reached the file, and a write was torn.
    kept = [line for line in lines if json.loads(line)["video_nos"] != [emu.video_nos[2]]]
    checkpoint.write_text("\n".join(kept) + '\n{"video_nos": ["VI')
    emu.clear_requests()
    again = _ask(client, "What happens?", emu.video_nos[:3], checkpoint=checkpoint)
    assert _chats(emu) == 1
    assert [answer.resumed for answer in again] == [True, True, False]
    assert [answer.text for answer in again] == [answer.text for answer in first]
    assert json.loads(checkpoint.read_text().splitlines()[-1])["video_nos"] == [emu.video_nos[2]]


def test_failed_questions_are_asked_again_on_resume(emu: MaviEmulator, tmp_path: Path) -> None:
    checkpoint = tmp_path / "answers.jsonl"
    client = _client(emu, "sync")
    _ask(client, "What happens?", ["VI_missing", emu.video_nos[0]], checkpoint=checkpoint)
    assert len(checkpoint.read_text().splitlines()) == 1  # only what succeeded
    emu.clear_requests()
    _ask(client, "What happens?", ["VI_missing", emu.video_nos[0]], checkpoint=checkpoint)
    assert _chats(emu) == 1


def test_the_progress_bar_counts_to_the_end(
    emu: MaviEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    _ask(_client(emu, "sync"), "What happens?", emu.video_nos[:2], progress=True)
    last = capsys.readouterr().err.rstrip().split("\r")[-1]
    assert "Asking: 100%" in last
    assert "2/2" in last
