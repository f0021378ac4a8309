"""Transcripts as documents, the pure part: the unit rule, passages and their ids, moments with
content, kinds, the cache (see mavi_core/transcripts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mavi_core import MaviValidationError, Moment, TranscriptSegment, VideoTranscript
from mavi_core.transcripts import (
    TranscriptCache,
    TranscriptJob,
    TranscriptKind,
    moment_content,
    normalize_kinds,
    passage_id,
    time_unit,
    transcript_passages,
)

Seg = TranscriptSegment


def transcript(kind: TranscriptKind = "audio", *segments: Seg) -> VideoTranscript:
    return VideoTranscript("VI1", kind, tuple(segments), video_name="harbor.mp4", duration=193)


SPEECH = [
    Seg(2, 9, "Five in the morning."),
    Seg(20, 27, "Watch the breakwater."),
    Seg(45, 52, "Tug departing."),
]


# The unit rule: seconds unless the times cannot be seconds.


def test_times_within_the_videos_duration_are_seconds() -> None:
    assert time_unit(SPEECH, duration=193) == "s"


def test_times_far_beyond_the_duration_are_milliseconds() -> None:
    millis = [Seg(s.start * 1000, s.end * 1000, s.text) for s in SPEECH]
    assert time_unit(millis, duration=193) == "ms"


def test_times_slightly_past_the_duration_stay_seconds() -> None:
    assert time_unit([Seg(180, 200, "late end")], duration=193) == "s"


def test_without_a_duration_long_segments_mean_milliseconds() -> None:
    millis = [Seg(s.start * 1000, s.end * 1000, s.text) for s in SPEECH]
    assert time_unit(millis, duration=None) == "ms"
    assert time_unit(SPEECH, duration=None) == "s"


def test_without_a_duration_times_past_ten_hours_mean_milliseconds() -> None:
    assert time_unit([Seg(40_000, 40_100, "x"), Seg(40_100, 40_200, "y")], None) == "ms"


def test_no_segments_is_seconds() -> None:
    assert time_unit([], duration=None) == "s"


# Passages: one per segment, or whole segments per window; ids stable.


def test_one_passage_per_segment_with_metadata() -> None:
    passages = transcript_passages(transcript("audio", *SPEECH))
    assert [(p.start, p.end, p.text) for p in passages] == [
        (s.start, s.end, s.text) for s in SPEECH
    ]
    assert passages[0].metadata == {
        "video_no": "VI1",
        "video_name": "harbor.mp4",
        "start": 2,
        "end": 9,
        "kind": "audio",
    }


def test_windows_merge_whole_segments_and_never_cut_one() -> None:
    long = Seg(60, 150, "A very long scene.")
    passages = transcript_passages(transcript("visual", *SPEECH, long), window_seconds=30)
    assert [(p.start, p.end) for p in passages] == [(2, 27), (45, 52), (60, 150)]
    assert passages[0].text == "Five in the morning.\nWatch the breakwater."


def test_window_seconds_must_be_positive() -> None:
    with pytest.raises(MaviValidationError):
        transcript_passages(transcript("audio", *SPEECH), window_seconds=0)


def test_ids_are_stable_and_distinct_per_video_kind_and_stretch() -> None:
    first = [p.id for p in transcript_passages(transcript("audio", *SPEECH))]
    again = [p.id for p in transcript_passages(transcript("audio", *SPEECH))]
    visual = [p.id for p in transcript_passages(transcript("visual", *SPEECH))]
    assert first == again
    assert len(set(first + visual)) == 6
    assert first[0] == passage_id("VI1", "audio", 2.0, 9.0)
    assert first[0] == "8397aca2-40c3-58b0-9d13-d119f09176cc"  # the same in every run


# Moments with content.


def test_a_moment_holds_the_lines_that_overlap_it_shown_before_said() -> None:
    moment = Moment("VI1", "harbor.mp4", 18, 41)
    scenes = transcript("visual", Seg(0, 18, "Blue light."), Seg(18, 41, "The sky turns orange."))
    text = moment_content(moment, [transcript("audio", *SPEECH), scenes])
    assert text == (
        "harbor.mp4 00:18-00:41\n"
        "shown 00:18-00:41: The sky turns orange.\n"
        "said 00:20-00:27: Watch the breakwater."
    )


def test_a_moment_without_length_holds_the_lines_around_it() -> None:
    text = moment_content(Moment("VI1", "harbor.mp4", 5, 5), [transcript("audio", *SPEECH)])
    assert text is not None and "Five in the morning." in text


def test_a_moment_no_line_overlaps_has_no_content() -> None:
    other = Moment("VI2", "kitchen.mp4", 0, 100)
    assert moment_content(other, [transcript("audio", *SPEECH)]) is None


# Kinds and the cache.


def test_kinds_take_the_wires_names_too() -> None:
    assert normalize_kinds(["AUDIO", "VIDEO", "visual"]) == ("audio", "visual")
    with pytest.raises(MaviValidationError, match="'audio'"):
        normalize_kinds("subtitles")


def _new_process_job(directory: Path, account: str = "acct-1") -> TranscriptJob:
    """A job for VI1's audio in a process whose cache in memory is empty."""
    return TranscriptJob(
        "http://mavi.test",
        ["VI1"],
        "audio",
        cache=TranscriptCache(),
        directory=directory,
        account=account,
    )


def test_a_cache_directory_serves_a_new_process(tmp_path: Path) -> None:
    saved = transcript("audio", *SPEECH)
    key = ("http://mavi.test", "acct-1", "VI1", "audio")
    TranscriptCache().put(key, saved, tmp_path)  # type: ignore[arg-type]

    job = _new_process_job(tmp_path)

    assert not job.waiting()
    assert job.result() == [saved]


def test_a_cache_directory_serves_only_the_same_credentials(tmp_path: Path) -> None:
    key = ("http://mavi.test", "acct-1", "VI1", "audio")
    TranscriptCache().put(key, transcript("audio", *SPEECH), tmp_path)  # type: ignore[arg-type]

    assert _new_process_job(tmp_path, account="acct-2").waiting()


def test_an_unreadable_cache_file_is_ignored(tmp_path: Path) -> None:
    key = ("http://mavi.test", "acct-1", "VI1", "audio")
    TranscriptCache().put(key, transcript("audio", *SPEECH), tmp_path)  # type: ignore[arg-type]
    for path in tmp_path.iterdir():
        path.write_text("{not json")

    job = _new_process_job(tmp_path)

    assert job.waiting()


def _corrupt_cache(tmp_path: Path, edit: object) -> None:
    """VI1's audio in the cache directory, then its file rewritten by `edit(data)`."""
    import json

    key = ("http://mavi.test", "acct-1", "VI1", "audio")
    TranscriptCache().put(key, transcript("audio", *SPEECH), tmp_path)  # type: ignore[arg-type]
    (path,) = tmp_path.iterdir()
    data = json.loads(path.read_text())
    edited = edit(data)  # type: ignore[operator]
    path.write_text(edited if isinstance(edited, str) else json.dumps(data))


@pytest.mark.parametrize(
    "edit",
    [
        lambda data: data["segments"][0].__setitem__(0, "two"),  # not a number
        lambda data: data["segments"][0].__setitem__(0, "2"),  # a string of digits
        lambda data: data["segments"][1].__setitem__(1, float("nan")),
        lambda data: data["segments"][1].__setitem__(1, float("inf")),
        lambda data: data["segments"][2].__setitem__(0, -45),
        lambda data: data["segments"][2].__setitem__(1, 1.0),  # ends before it starts
        lambda data: data["segments"][0].__setitem__(0, True),
        lambda data: data["segments"][0].__setitem__(2, None),  # no text
        lambda data: data["segments"].append([1, 2]),
        lambda data: data.__setitem__("segments", {"0": [2, 9, "x"]}),
        lambda data: data.__setitem__("duration", float("nan")),
        lambda data: data.__setitem__("duration", -193),
        lambda data: data.__setitem__("duration", "193"),
        lambda data: data.__setitem__("video_no", 1),
        lambda data: "[1, 2, 3]",  # JSON, not an object
        lambda data: '{"format": 1, "segments": [[1e400, 1e400, "x"]]}',
        lambda data: "[" * 100_000 + "]" * 100_000,  # too deep to read
    ],
)
def test_a_corrupt_cache_entry_is_a_miss(tmp_path: Path, edit: object) -> None:
    """docs/client.md ("Transcripts": the cache): a cache file that was
    cut, edited or corrupted is asked again, never read as NaN, infinite or negative times
    and never a crash."""
    _corrupt_cache(tmp_path, edit)

    job = _new_process_job(tmp_path)

    assert job.waiting()


def test_a_sound_cache_entry_written_by_hand_is_still_read(tmp_path: Path) -> None:
    _corrupt_cache(tmp_path, lambda data: data["segments"][0].__setitem__(1, 9))  # int end

    assert not _new_process_job(tmp_path).waiting()


@pytest.mark.parametrize(
    "data",
    [
        {"videoNo": "VI1", "transcriptions": []},
        {"videoNo": "VI1", "status": "FINISH", "transcriptions": []},
        {"videoNo": "VI1", "transcriptions": [{"startTime": 1, "endTime": 2, "content": " "}]},
    ],
)
def test_an_empty_v12_transcript_answers_the_call_but_is_not_cached(
    tmp_path: Path, data: dict[str, object]
) -> None:
    """v1.2 has no task that says a transcript is finished: an empty one may not be made yet.
    It is this call's answer, and the next call asks again (memory and cache_dir alike)."""
    cache = TranscriptCache()
    job = TranscriptJob("http://mavi.test", ["VI1"], "audio", cache=cache, directory=tmp_path,
                        account="acct-1")  # fmt: skip
    (item,) = job.waiting()
    job.read(item, data, v12=True)

    assert not job.waiting() and [t.segments for t in job.result()] == [()]
    again = TranscriptJob("http://mavi.test", ["VI1"], "audio", cache=cache, directory=tmp_path,
                          account="acct-1")  # fmt: skip
    assert again.waiting()
    assert list(tmp_path.iterdir()) == []


def test_a_v12_transcript_with_lines_and_an_empty_v10_one_are_cached(tmp_path: Path) -> None:
    """What is kept: a v1.2 transcript with text; a v1.0 task's FINISH with no lines (the task
    said it is finished: a video with nothing said)."""
    cache = TranscriptCache()
    v12 = TranscriptJob("http://mavi.test", ["VI1"], "audio", cache=cache, account="acct-1")
    (item,) = v12.waiting()
    v12.read(item, {"transcriptions": [{"startTime": 1, "endTime": 2, "content": "hi"}]}, v12=True)
    v10 = TranscriptJob("http://mavi.test", ["VI2"], "audio", cache=cache, account="acct-1")
    (task,) = v10.to_submit()
    v10.submitted(task, "TK1")
    v10.read(task, {"status": "FINISH", "transcriptions": []})

    for video_no in ("VI1", "VI2"):
        job = TranscriptJob("http://mavi.test", [video_no], "audio", cache=cache, account="acct-1")
        assert not job.waiting()


# The rule in the pure reader every path shares (`parse_transcription`).


def _reply(*times: tuple[object, object]) -> dict[str, object]:
    items = [
        {"startTime": s, "endTime": e, "content": f"line {i}"} for i, (s, e) in enumerate(times)
    ]
    return {"status": "FINISH", "transcriptions": items}


@pytest.mark.parametrize(
    ("times", "duration", "unit", "first"),
    [
        (((2, 9), (20, 27)), None, "s", (2.0, 9.0)),
        ((("2", "9"), ("20", "27")), 193, "s", (2.0, 9.0)),  # numbers as strings
        (((2000, 9000), (20000, 27000)), None, "ms", (2.0, 9.0)),  # lines of 7000 units
        ((("2000", "9000"), ("20000", "27000")), None, "ms", (2.0, 9.0)),
        (((2000, 2300), (2300, 2600), (2600, 2900)), 193, "ms", (2.0, 2.3)),  # past 10x 193 s
        (((2000, 2300), (2300, 2600), (2600, 2900)), 3600, "s", (2000.0, 2300.0)),  # an hour
        (((40_000, 40_100), (40_100, 40_200)), None, "ms", (40.0, 40.1)),  # beyond 10 hours
    ],
)
def test_parse_transcription_gives_seconds_and_the_unit(
    times: tuple[tuple[object, object], ...],
    duration: float | None,
    unit: str,
    first: tuple[float, float],
) -> None:
    from mavi_core._videos import parse_transcription

    for v12 in (False, True):
        read = parse_transcription(
            _reply(*times), video_no="VI1", task_no="", kind="AUDIO", v12=v12, duration=duration
        )
        assert read is not None
        assert read.unit == unit
        assert (read.segments[0].start, read.segments[0].end) == first
        assert [segment.text for segment in read.segments][:1] == ["line 0"]
