"""Bulk questions: paced, in order, failures as values, resumable from a JSONL checkpoint."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mavi_core import (
    AsyncMaviClient,
    MaviClient,
    MaviInvalidRequestError,
    MaviValidationError,
    RateLimit,
)
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


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_one_string_where_the_videos_belong_is_refused_before_anything_is_sent(
    emu: MaviEmulator, kind: str
) -> None:
    with pytest.raises(MaviValidationError, match="not a single string"):
        _ask(_client(emu, kind), "What happens?", emu.video_nos[0])
    assert _chats(emu) == 0


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_video_listed_twice_is_asked_once_and_answered_in_both_places(
    emu: MaviEmulator, kind: str
) -> None:
    first, second = emu.video_nos[:2]
    answers = _ask(_client(emu, kind), "What happens?", [first, second, first])
    assert _chats(emu) == 2
    assert [answer.video_nos for answer in answers] == [(first,), (second,), (first,)]
    assert answers[0].text and answers[0].text == answers[2].text


def test_damaged_checkpoint_lines_are_skipped_with_one_warning(
    emu: MaviEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpoint = tmp_path / "answers.jsonl"
    videos = emu.video_nos[:3]
    client = _client(emu, "sync")
    first = _ask(client, "What happens?", videos, checkpoint=checkpoint)
    written = checkpoint.read_bytes().splitlines()  # in the order answers arrived
    lines = sorted(written, key=lambda line: videos.index(json.loads(line)["video_nos"][0]))
    other = json.dumps({"video_nos": [videos[0]], "question": "Another?", "text": "x"}).encode()
    checkpoint.write_bytes(
        b"\xef\xbb\xbf"
        + lines[0]
        + b"\n"  # an editor's byte order mark: the line still counts
        + lines[1][:20]
        + b"\xff\xfe broken\n"  # invalid UTF-8
        + other
        + b"\n"  # another question's answer
        + lines[2][:25]  # torn by an interruption
    )
    emu.clear_requests()
    with caplog.at_level(logging.WARNING, logger="mavi_core"):
        again = _ask(client, "What happens?", videos, checkpoint=checkpoint)
    assert [answer.resumed for answer in again] == [True, False, False]
    assert [answer.text for answer in again] == [answer.text for answer in first]
    assert _chats(emu) == 2
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert len(warnings) == 1 and "3 lines" in warnings[0] and str(checkpoint) in warnings[0]


INTERRUPTED = """
import os, sys
from mavi_core import Budget, MaviClient, RateLimit
limit = RateLimit(budgets={"chat": Budget(2, 1.0)})
client = MaviClient(os.environ["KEY"], base_url=os.environ["URL"], rate_limit=limit)
questions = [f"Question {n}?" for n in range(40)]
client.ask_many(questions, [os.environ["VIDEO"]], checkpoint=sys.argv[1], progress=True)
"""


def test_ctrl_c_ends_with_one_line_saying_what_is_saved_and_how_to_resume(
    emu: MaviEmulator, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "answers.jsonl"
    env = {**os.environ, "KEY": emu.api_key, "URL": emu.base_url, "VIDEO": emu.video_nos[0]}
    child = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED, str(checkpoint)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while not (checkpoint.exists() and checkpoint.read_text().count("\n") >= 2):
        assert time.monotonic() < deadline and child.poll() is None
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    stderr = child.communicate(timeout=60)[1]
    saved = checkpoint.read_text().count("\n")
    assert "concurrent.futures" not in stderr
    said = [line for line in stderr.splitlines() if "ask_many interrupted" in line]
    assert len(said) == 1, stderr
    assert f"{saved} of 40 answers are saved in {checkpoint}" in said[0]
    assert "run it again with the same checkpoint" in said[0]
    bar = [line for line in stderr.splitlines() if "Asking" in line]
    assert bar and not any("Traceback" in line for line in bar)  # the bar's line was ended
