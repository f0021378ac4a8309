"""Transcripts as time-stamped text: what was said (audio) and what was shown (visual).

Pure, apart from the optional cache directory: which transcriptions a call still needs
(`TranscriptJob`; the reply's times reach it in seconds, by `_videos.time_unit`), the cache
that keeps a transcript from being requested twice in a process (`TranscriptCache`), and the
documents the loaders and retrievers build from transcripts (`transcript_passages`,
`moment_content`). The flow that asks the service is `_flow.Operations.transcripts`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

from ._exceptions import MaviError, MaviValidationError
from ._request import normalize_video_nos
from ._videos import (
    Moment,
    TranscriptSegment,
    Video,
    _clock,
    describe_moment,
    parse_transcription,
    time_unit,
)

__all__ = [
    "KINDS",
    "Passage",
    "TranscriptCache",
    "TranscriptJob",
    "TranscriptKind",
    "VideoTranscript",
    "moment_content",
    "moment_text",
    "moment_transcripts_request",
    "moment_videos",
    "normalize_kinds",
    "passage_id",
    "passages",
    "time_unit",
    "transcript_passages",
    "without_transcripts",
]

logger = logging.getLogger("mavi_core")

TranscriptKind: TypeAlias = Literal["audio", "visual"]
KINDS: Final[tuple[TranscriptKind, ...]] = ("audio", "visual")
WIRE_KIND: Final[Mapping[TranscriptKind, Literal["AUDIO", "VIDEO"]]] = {
    "audio": "AUDIO",
    "visual": "VIDEO",
}
_KIND_NAMES: Final[Mapping[str, TranscriptKind]] = {
    "audio": "audio",
    "visual": "visual",
    "video": "visual",  # the wire's name for it
}

_ID_NAMESPACE: Final = "6f1c2a4e-9b0d-5e7a-8c3f-2d4b6a8e0c1f"
"""The uuid5 namespace of passage ids (statistics, tempfile and uuid load on first use: they
would cost `import mavi_core` several milliseconds)."""
_CACHE_FORMAT: Final = 1


def normalize_kinds(kinds: str | Iterable[str]) -> tuple[TranscriptKind, ...]:
    """`"audio"`, `"visual"` (or the wire's `"AUDIO"` / `"VIDEO"`), one or several, deduplicated."""
    names = [kinds] if isinstance(kinds, str) else list(kinds)
    chosen: list[TranscriptKind] = []
    for name in names:
        kind = _KIND_NAMES.get(str(name).strip().lower())
        if kind is None:
            raise MaviValidationError(
                f"kinds: {name!r} is not a transcript kind; use 'audio' (what is said) or "
                "'visual' (what is shown)."
            )
        if kind not in chosen:
            chosen.append(kind)
    if not chosen:
        raise MaviValidationError("kinds is empty: pass 'audio', 'visual' or both.")
    return tuple(chosen)


def _in_order(segments: Iterable[TranscriptSegment]) -> tuple[TranscriptSegment, ...]:
    """Segments (in seconds) in time order, a missing end read as the start, empty lines out."""
    ordered = sorted(segments, key=lambda segment: (segment.start, segment.end))
    return tuple(
        TranscriptSegment(
            start=segment.start,
            end=max(segment.start, segment.end),  # a missing end is the start
            text=segment.text.strip(),
        )
        for segment in ordered
        if segment.text.strip()
    )


@dataclass(frozen=True)
class VideoTranscript:
    """What was said (`kind` "audio") or shown ("visual") in a video, segment by segment, in
    seconds whatever unit the service used (`unit` says which it was)."""

    video_no: str
    kind: TranscriptKind
    segments: tuple[TranscriptSegment, ...] = ()
    video_name: str = ""
    duration: float | None = None
    """The whole video's, in seconds, when known."""
    unit: Literal["s", "ms"] = "s"
    """The unit of the service's reply (the segments are in seconds either way)."""

    @property
    def text(self) -> str:
        return "\n".join(segment.text for segment in self.segments)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": _CACHE_FORMAT,
            "video_no": self.video_no,
            "kind": self.kind,
            "video_name": self.video_name,
            "duration": self.duration,
            "unit": self.unit,
            "segments": [[s.start, s.end, s.text] for s in self.segments],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VideoTranscript:
        """A transcript as `to_json` wrote it; `ValueError` for anything else (a cache file
        that was cut, edited or corrupted is a miss, never trusted): times and the duration
        must be finite numbers from 0 (not strings, NaN or infinity), each end not before its
        start, texts strings."""
        if not isinstance(data, Mapping):
            raise ValueError("not a transcript of this format")
        if data.get("format") != _CACHE_FORMAT or data.get("kind") not in KINDS:
            raise ValueError("not a transcript of this format")
        duration = data.get("duration")
        segments = data["segments"]
        if not isinstance(segments, list) or not isinstance(data["video_no"], str):
            raise ValueError("not a transcript of this format")
        read: list[TranscriptSegment] = []
        for segment in segments:
            if not isinstance(segment, list) or len(segment) != 3:
                raise ValueError("a segment is not [start, end, text]")
            start, end, text = segment
            if not isinstance(text, str) or _cached_time(end) < _cached_time(start):
                raise ValueError("a segment is not [start, end, text] in order")
            read.append(TranscriptSegment(float(start), float(end), text))
        return cls(
            video_no=data["video_no"],
            kind=data["kind"],
            video_name=str(data.get("video_name") or ""),
            duration=None if duration is None else _cached_time(duration),
            unit="ms" if data.get("unit") == "ms" else "s",
            segments=tuple(read),
        )


def _cached_time(value: object) -> float:
    """Seconds as the cache wrote them: a finite number from 0, else `ValueError`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"a time is {type(value).__name__}, not a number")
    if not 0 <= value < math.inf:  # False for NaN too
        raise ValueError(f"a time is {value!r}, not a finite number from 0")
    return float(value)


# The cache: finished transcripts, and the tasks still running, per host, video and kind.

_Key: TypeAlias = tuple[str, str, str, TranscriptKind]
"""Host, credential fingerprint (`MaviSettings.fingerprint`, never the credential), video, kind:
a library belongs to an account, so one key's transcripts never serve another's."""


class TranscriptCache:
    """Finished transcripts, and the numbers of transcription tasks still running, per host,
    credentials, video and kind. One instance serves the whole process (`TranscriptCache.shared`): a
    transcript is requested once, and a task that outlived a call's wait is polled again by
    the next call rather than submitted twice. With a `directory`, finished transcripts are
    also kept there as JSON, across processes."""

    _shared: TranscriptCache | None = None
    _shared_lock: Final = threading.Lock()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._transcripts: dict[_Key, VideoTranscript] = {}
        self._tasks: dict[_Key, str] = {}

    @classmethod
    def shared(cls) -> TranscriptCache:
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def get(self, key: _Key, directory: Path | None) -> VideoTranscript | None:
        with self._lock:
            found = self._transcripts.get(key)
        if found is None and directory is not None:
            found = _read_file(_cache_path(directory, key))
            if found is not None:
                with self._lock:
                    self._transcripts[key] = found
        return found

    def put(self, key: _Key, transcript: VideoTranscript, directory: Path | None) -> None:
        with self._lock:
            self._transcripts[key] = transcript
            self._tasks.pop(key, None)
        if directory is not None:
            _write_file(_cache_path(directory, key), transcript)

    def task(self, key: _Key) -> str | None:
        with self._lock:
            return self._tasks.get(key)

    def remember_task(self, key: _Key, task_no: str) -> None:
        with self._lock:
            self._tasks[key] = task_no

    def forget(self, key: _Key) -> None:
        """Drop what is known of `key` (in memory; files stay)."""
        with self._lock:
            self._transcripts.pop(key, None)
            self._tasks.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._transcripts.clear()
            self._tasks.clear()


def _cache_path(directory: Path, key: _Key) -> Path:
    # Video numbers are opaque strings: hashed, they make safe file names (and the file's name
    # tells nothing of the host or the account).
    digest = hashlib.sha256("\0".join(key).encode("utf-8")).hexdigest()[:40]
    return directory / f"{key[3]}-{digest}.json"


def _read_file(path: Path) -> VideoTranscript | None:
    try:
        return VideoTranscript.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as error:
        logger.debug("MAVI: ignoring the unreadable transcript cache file %s (%s)", path, error)
        return None


def _write_file(path: Path, transcript: VideoTranscript) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole then renamed: a reader never sees half a file.
    import tempfile

    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(transcript.to_json(), file, ensure_ascii=False)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# One call's transcriptions: which are cached, which to submit, which to poll.


@dataclass
class _Wanted:
    key: _Key
    task_no: str | None = None
    transcript: VideoTranscript | None = None

    @property
    def video_no(self) -> str:
        return self.key[2]

    @property
    def kind(self) -> TranscriptKind:
        return self.key[3]


@dataclass
class TranscriptJob:
    """The transcripts one call returns, in the order asked (each video, each kind)."""

    base_url: str
    video_nos: Sequence[str] | None
    """None: every parsed video of the library (see `use_library`)."""
    kinds: str | Iterable[str] = KINDS
    videos: Iterable[Video] = ()
    """What the caller knows of the videos already (names, durations): no need to look them up."""
    cache: TranscriptCache = field(default_factory=TranscriptCache.shared)
    directory: str | os.PathLike[str] | None = None
    refresh: bool = False
    """Ask the service again even when a transcript is cached."""
    account: str = field(kw_only=True)
    """Whose library: `MaviSettings.fingerprint()`, a hash of the credentials (never them)."""
    unique_id: str | None = field(default=None, kw_only=True)
    """v1.2: the end user whose library it is (checked by the caller: `Operations.scope`);
    their transcripts are cached apart from the key's others."""

    def __post_init__(self) -> None:
        if self.unique_id is not None:
            self.account = f"{self.account}\0{self.unique_id}"
        self.kinds = normalize_kinds(self.kinds)
        self._directory = None if self.directory is None else Path(self.directory)
        self.known: dict[str, Video] = {video.video_no: video for video in self.videos}
        self.wanted: list[_Wanted] = []
        if self.video_nos is not None:
            self._want(normalize_video_nos(self.video_nos))

    @property
    def whole_library(self) -> bool:
        return self.video_nos is None

    def use_library(self, listed: Iterable[Video]) -> None:
        """The parsed videos of the library, for a job over all of them."""
        parsed = [video for video in listed if video.is_parsed]
        self.known.update({video.video_no: video for video in parsed})
        self.video_nos = [video.video_no for video in parsed]
        self._want(self.video_nos)

    def _want(self, video_nos: Sequence[str]) -> None:
        kinds = normalize_kinds(self.kinds)
        self.wanted = [
            _Wanted((self.base_url, self.account, video_no, kind))
            for video_no in video_nos
            for kind in kinds
        ]
        for item in self.wanted:
            if self.refresh:
                self.cache.forget(item.key)
                continue
            item.transcript = self.cache.get(item.key, self._directory)
            item.task_no = self.cache.task(item.key)

    @property
    def unknown_videos(self) -> set[str]:
        """Videos whose name and duration must be looked up before their transcripts are read."""
        return {
            item.video_no
            for item in self.wanted
            if item.transcript is None and item.video_no not in self.known
        }

    def learn(self, listed: Iterable[Video]) -> None:
        wanted = self.unknown_videos
        self.known.update({video.video_no: video for video in listed if video.video_no in wanted})

    def to_submit(self) -> list[_Wanted]:
        return [item for item in self.wanted if item.transcript is None and item.task_no is None]

    def submitted(self, item: _Wanted, task_no: str) -> None:
        item.task_no = task_no
        self.cache.remember_task(item.key, task_no)

    def waiting(self) -> list[_Wanted]:
        return [item for item in self.wanted if item.transcript is None]

    @property
    def total(self) -> int:
        return len(self.wanted)

    @property
    def finished(self) -> int:
        return sum(item.transcript is not None for item in self.wanted)

    @property
    def done(self) -> bool:
        return self.finished == self.total

    def read(self, item: _Wanted, data: object, *, v12: bool = False) -> None:
        """A getTranscription reply for `item` (v1.2: a get_*_transcription reply, no task):
        stored once FINISH; a failed task is forgotten (so the next call submits a new one)
        and raised."""
        assert v12 or item.task_no is not None
        wire = WIRE_KIND[item.kind]
        video = self.known.get(item.video_no)
        duration = video.duration if video is not None else None
        try:
            reply = parse_transcription(
                data,
                video_no=item.video_no,
                task_no=item.task_no or "",
                kind=wire,
                v12=v12,
                duration=duration,
            )
        except Exception:
            self.cache.forget(item.key)
            raise
        if reply is None:
            return
        item.transcript = VideoTranscript(
            video_no=item.video_no,
            kind=item.kind,
            segments=_in_order(reply.segments),
            video_name=video.video_name if video is not None else "",
            duration=duration,
            unit=reply.unit,
        )
        if v12 and not item.transcript.segments:
            # A v1.2 transcript is read with no task to say it is finished: an empty one may
            # not be made yet, so it answers this call only (docs/v1.2.md, "Videos and
            # sessions"); the next call reads it again.
            return
        self.cache.put(item.key, item.transcript, self._directory)

    def result(self) -> list[VideoTranscript]:
        return [item.transcript for item in self.wanted if item.transcript is not None]


# What the loaders and retrievers make of transcripts.


def passage_id(video_no: str, kind: str, start: float, end: float) -> str:
    """A document id that is the same in every run for the same stretch of the same transcript
    (a UUID, as most vector stores want): re-ingesting updates instead of duplicating."""
    name = f"{video_no}\0{kind}\0{start:.3f}\0{end:.3f}"
    import uuid

    return str(uuid.uuid5(uuid.UUID(_ID_NAMESPACE), name))


@dataclass(frozen=True, slots=True)
class Passage:
    """One document's worth of a transcript: a segment, or whole segments within a window."""

    video_no: str
    video_name: str
    kind: TranscriptKind
    start: float
    end: float
    text: str

    @property
    def id(self) -> str:
        return passage_id(self.video_no, self.kind, self.start, self.end)

    @property
    def metadata(self) -> dict[str, Any]:
        return {
            "video_no": self.video_no,
            "video_name": self.video_name,
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
        }


def transcript_passages(
    transcript: VideoTranscript, window_seconds: float | None = None
) -> list[Passage]:
    """One passage per segment, or (`window_seconds`) consecutive whole segments merged while
    they fit in a window of that many seconds from the first one's start. A segment is never
    cut: one longer than the window is a passage of its own."""
    if window_seconds is not None and window_seconds <= 0:
        raise MaviValidationError(f"window_seconds must be positive, got {window_seconds!r}.")
    groups: list[list[TranscriptSegment]] = []
    for segment in transcript.segments:
        group = groups[-1] if groups else None
        if (
            group is not None
            and window_seconds is not None
            and segment.end - group[0].start <= window_seconds
        ):
            group.append(segment)
        else:
            groups.append([segment])
    return [
        Passage(
            video_no=transcript.video_no,
            video_name=transcript.video_name,
            kind=transcript.kind,
            start=group[0].start,
            end=max(segment.end for segment in group),
            text="\n".join(segment.text for segment in group),
        )
        for group in groups
    ]


def passages(
    transcripts: Iterable[VideoTranscript], window_seconds: float | None = None
) -> Iterator[Passage]:
    """`transcript_passages` of each transcript in turn: what both loaders turn into documents."""
    for transcript in transcripts:
        yield from transcript_passages(transcript, window_seconds)


_LABEL: Final[Mapping[TranscriptKind, str]] = {"visual": "shown", "audio": "said"}
_ORDER: Final[Mapping[TranscriptKind, int]] = {"visual": 0, "audio": 1}  # at one time: shown first


def _overlaps(segment: TranscriptSegment, moment: Moment) -> bool:
    if moment.end <= moment.start:  # a moment without length: the segments around it
        return segment.start <= moment.start <= segment.end
    return segment.start < moment.end and segment.end > moment.start


def moment_content(moment: Moment, transcripts: Iterable[VideoTranscript]) -> str | None:
    """The moment's line (`video 01:10-01:32`), then every transcript line overlapping it, in
    time order, each marked shown (visual) or said (audio), and what the search heard said in
    it (`Moment.text`, a BY_AUDIO hit) unless a line says it already; None when there is no
    line."""
    lines: list[tuple[float, int, str]] = []
    said: set[str] = set()
    for transcript in transcripts:
        if transcript.video_no != moment.video_no:
            continue
        order = _ORDER[transcript.kind]
        label = _LABEL[transcript.kind]
        for segment in transcript.segments:
            if _overlaps(segment, moment):
                where = f"{_clock(segment.start)}-{_clock(segment.end)}"
                lines.append((segment.start, order, f"{label} {where}: {segment.text}"))
                said.update([segment.text] if transcript.kind == "audio" else [])
    if moment.text and moment.text not in said:
        where = f"{_clock(moment.start)}-{_clock(moment.end)}"
        lines.append((moment.start, _ORDER["audio"], f"said {where}: {moment.text}"))
    if not lines:
        return None
    lines.sort(key=lambda line: line[:2])
    return "\n".join([describe_moment(moment), *(line for _, _, line in lines)])


# Moments with content: what the retrievers of both adapters do with transcripts.


def moment_videos(moments: Iterable[Moment]) -> list[Video]:
    """The videos of `moments`, once each, with the names and durations the search sent (so
    their transcripts need no library lookup)."""
    videos = {
        moment.video_no: Video(moment.video_no, moment.video_name, duration=moment.duration)
        for moment in moments
    }
    return list(videos.values())


def moment_text(moment: Moment, transcripts: Iterable[VideoTranscript], query: str) -> str:
    """What a retrieved moment says: the transcript lines overlapping it and what the search
    heard said in it (`moment_content`), else the line describing it (`describe_moment`)."""
    return moment_content(moment, transcripts) or describe_moment(moment, query)


def without_transcripts(error: MaviError, required: bool | None) -> list[VideoTranscript]:
    """A retriever whose transcripts failed: `with_transcript=True` raises `error`; the default
    (None) goes on with the moments' descriptions and says why in a debug log."""
    if required:
        raise error
    logger.debug("MAVI: no transcripts for the moments (%s); describing them instead", error)
    return []


def moment_transcripts_request(
    moments: Sequence[Moment],
    with_transcript: bool | None,
    timeout: float,
    unique_id: str | None = None,
) -> dict[str, Any] | None:
    """The `get_transcripts` arguments a retriever passes for `moments` (None: none to fetch),
    in the namespace (`unique_id`) it searched."""
    if with_transcript is False or not moments:
        return None
    videos = moment_videos(moments)
    video_nos = [video.video_no for video in videos]
    return {"video_nos": video_nos, "videos": videos, "timeout": timeout, "unique_id": unique_id}
