"""Transcripts as time-stamped passages (docs/client.md#transcripts): which transcriptions a call
still needs, the cache that asks for each once, and the documents built from them. `_flow` asks
the service."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
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
    "Passage",
    "TranscriptCache",
    "TranscriptKind",
    "VideoTranscript",
    "moment_content",
    "passage_id",
    "time_unit",
    "transcript_passages",
]

logger = logging.getLogger("mavi_core")

TranscriptKind: TypeAlias = Literal["audio", "visual"]
KINDS: Final[tuple[TranscriptKind, ...]] = ("audio", "visual")
WIRE_KIND: Final[Mapping[str, Literal["AUDIO", "VIDEO"]]] = {"audio": "AUDIO", "visual": "VIDEO"}
# "video": the wire's name for "visual".
_KIND_NAMES: Final[Mapping[str, TranscriptKind]] = {"video": "visual", **{k: k for k in KINDS}}
# Passage ids are uuid5s in this namespace (uuid and tempfile load on first use: import time).
_ID_NAMESPACE: Final = "6f1c2a4e-9b0d-5e7a-8c3f-2d4b6a8e0c1f"
_CACHE_FORMAT: Final = 1


def normalize_kinds(kinds: str | Iterable[str]) -> tuple[TranscriptKind, ...]:
    """`"audio"`, `"visual"` (or the wire's `"AUDIO"` / `"VIDEO"`), one or several, deduplicated."""
    chosen: list[TranscriptKind] = []
    for name in [kinds] if isinstance(kinds, str) else kinds:
        kind = _KIND_NAMES.get(str(name).strip().lower())
        if kind is None:
            raise MaviValidationError(
                f"kinds: {name!r} is not a transcript kind; use 'audio' (what is said) or "
                "'visual' (what is shown)."
            )
        chosen.append(kind)
    if not chosen:
        raise MaviValidationError("kinds is empty: pass 'audio', 'visual' or both.")
    return tuple(dict.fromkeys(chosen))


@dataclass(frozen=True)
class VideoTranscript:
    """What was said (`kind` "audio") or shown ("visual") in a video, segment by segment, in
    seconds whatever unit the service used (`unit` says which it was)."""

    video_no: str
    kind: TranscriptKind
    segments: tuple[TranscriptSegment, ...] = ()
    video_name: str = ""
    duration: float | None = None  # the whole video's, when known
    unit: Literal["s", "ms"] = "s"

    @property
    def text(self) -> str:
        return "\n".join(segment.text for segment in self.segments)

    def to_json(self) -> dict[str, Any]:
        segments = [[s.start, s.end, s.text] for s in self.segments]
        return {"format": _CACHE_FORMAT, **vars(self), "segments": segments}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VideoTranscript:
        """A transcript as `to_json` wrote it, else `ValueError` (or `KeyError`, `TypeError`)."""
        ours = isinstance(data, Mapping) and data.get("format") == _CACHE_FORMAT
        ours = ours and data.get("kind") in KINDS and isinstance(data.get("video_no"), str)
        if not ours or not isinstance(data["segments"], list):
            raise ValueError("not a transcript of this format")
        segments: list[TranscriptSegment] = []
        for start, end, text in data["segments"]:
            if not isinstance(text, str) or _cached_time(end) < _cached_time(start):
                raise ValueError("a segment is not [start, end, text] in order")
            segments.append(TranscriptSegment(float(start), float(end), text))
        name, duration = str(data.get("video_name") or ""), data.get("duration")
        duration = None if duration is None else _cached_time(duration)
        unit: Literal["s", "ms"] = "ms" if data.get("unit") == "ms" else "s"
        return cls(data["video_no"], data["kind"], tuple(segments), name, duration, unit)


def _cached_time(value: Any) -> float:
    if type(value) not in (int, float) or not 0 <= value < math.inf:  # no bool, string or NaN
        raise ValueError(f"a time is {value!r}, not a finite number from 0")
    return float(value)


# Host, account (`MaviSettings.fingerprint`, never the credential), video, kind.
_Key: TypeAlias = tuple[str, str, str, TranscriptKind]


class TranscriptCache(dict[_Key, VideoTranscript | str]):
    """Finished transcripts and running tasks' numbers per host, account, video and kind, for the
    process (`shared()`), and in a `directory` as JSON when given (docs/client.md#transcripts).
    Each change is one (atomic) dict operation."""

    @staticmethod
    def shared() -> TranscriptCache:
        return _SHARED

    def load(self, key: _Key, directory: Path | None) -> VideoTranscript | str | None:
        """The transcript in memory, else in `directory` (a damaged file is a miss, never
        trusted), else the running task's number."""
        found = self.get(key)
        if isinstance(found, VideoTranscript) or directory is None:
            return found
        path = _cache_path(directory, key)
        try:
            self[key] = VideoTranscript.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as error:
            logger.debug("MAVI: ignoring the unreadable transcript cache file %s (%s)", path, error)
        return self.get(key)

    def put(self, key: _Key, transcript: VideoTranscript, directory: Path | None = None) -> None:
        """In memory, and in `directory` written whole then renamed: no reader sees half a file."""
        self[key] = transcript
        if directory is None:
            return
        import tempfile

        directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(transcript.to_json(), file, ensure_ascii=False)
            os.replace(temporary, _cache_path(directory, key))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


_SHARED: Final = TranscriptCache()


def _cache_path(directory: Path, key: _Key) -> Path:
    # Hashed: a safe file name whatever the video number, telling nothing of host or account.
    digest = hashlib.sha256("\0".join(key).encode("utf-8")).hexdigest()[:40]
    return directory / f"{key[3]}-{digest}.json"


@dataclass
class _Wanted:
    video_no: str
    kind: TranscriptKind
    key: _Key
    task_no: str | None = None
    transcript: VideoTranscript | None = None


@dataclass
class TranscriptJob:
    """The transcripts one call returns, in the order asked (each video, each kind)."""

    base_url: str
    video_nos: Sequence[str] | None  # None: every parsed video of the library
    kinds: str | Iterable[str] = KINDS
    videos: Iterable[Video] = ()  # names and durations known: no lookup
    cache: TranscriptCache = field(default_factory=TranscriptCache.shared, repr=False)
    directory: str | os.PathLike[str] | None = None
    refresh: bool = False
    account: str = field(kw_only=True)  # `MaviSettings.fingerprint()`, never the credentials
    unique_id: str | None = field(default=None, kw_only=True)  # v1.2: an end user's library

    def __post_init__(self) -> None:
        if self.unique_id is not None:
            self.account = f"{self.account}\0{self.unique_id}"
        self.kinds = self._kinds = normalize_kinds(self.kinds)
        self._directory = None if self.directory is None else Path(self.directory)
        self.known: dict[str, Video] = {video.video_no: video for video in self.videos}
        self._want([] if self.video_nos is None else normalize_video_nos(self.video_nos))

    def use_library(self, listed: Iterable[Video]) -> None:
        """The parsed videos of the library, for a job over all of them."""
        parsed = [video for video in listed if video.is_parsed]
        self.known.update({video.video_no: video for video in parsed})
        self._want([video.video_no for video in parsed])

    def _want(self, video_nos: Sequence[str]) -> None:
        self.wanted = [
            _Wanted(video_no, kind, (self.base_url, self.account, video_no, kind))
            for video_no in video_nos
            for kind in self._kinds
        ]
        for item in self.wanted:
            if self.refresh:
                self.cache.pop(item.key, None)
            else:
                found = self.cache.load(item.key, self._directory)
                item.transcript = found if isinstance(found, VideoTranscript) else None
                item.task_no = found if isinstance(found, str) else None

    @property
    def unknown_videos(self) -> set[str]:
        """Videos whose name and duration must be looked up before their transcripts are read."""
        return {item.video_no for item in self.waiting() if item.video_no not in self.known}

    def learn(self, listed: Iterable[Video]) -> None:
        wanted = self.unknown_videos
        self.known.update({video.video_no: video for video in listed if video.video_no in wanted})

    def to_submit(self) -> list[_Wanted]:
        return [item for item in self.wanted if item.transcript is None and item.task_no is None]

    def submitted(self, item: _Wanted, task_no: str) -> None:
        item.task_no = self.cache[item.key] = task_no

    def waiting(self) -> list[_Wanted]:
        return [item for item in self.wanted if item.transcript is None]

    def read(self, item: _Wanted, data: object, *, v12: bool = False) -> None:
        """A transcription reply for `item`, kept once finished; a failed task is forgotten."""
        video = self.known.get(item.video_no, Video(item.video_no))
        try:
            reply = parse_transcription(
                data, video_no=item.video_no, v12=v12, duration=video.duration
            )
        except Exception:
            self.cache.pop(item.key, None)
            raise
        if reply is None:
            return
        segments = tuple(
            TranscriptSegment(s.start, max(s.start, s.end), s.text.strip())  # no end: the start
            for s in sorted(reply.segments, key=lambda s: (s.start, s.end))
            if s.text.strip()
        )
        item.transcript = VideoTranscript(
            item.video_no, item.kind, segments, video.video_name, video.duration, reply.unit
        )
        # v1.2 has no task to say a transcript is finished: an empty one may not be made yet, so
        # it answers this call only (docs/v1.2.md#videos-and-sessions).
        if not v12 or item.transcript.segments:
            self.cache.put(item.key, item.transcript, self._directory)

    def result(self) -> list[VideoTranscript]:
        return [item.transcript for item in self.wanted if item.transcript is not None]


def passage_id(video_no: str, kind: str, start: float, end: float) -> str:
    """The same UUID in every run: re-ingesting updates a vector store instead of duplicating."""
    import uuid

    name = f"{video_no}\0{kind}\0{start:.3f}\0{end:.3f}"
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
        fields = ("video_no", "video_name", "start", "end", "kind")
        return {name: getattr(self, name) for name in fields}


def transcript_passages(
    transcript: VideoTranscript, window_seconds: float | None = None
) -> list[Passage]:
    """One passage per segment, or (`window_seconds`) consecutive whole segments merged while
    they fit in that many seconds from the first one's start; a segment is never cut."""
    if window_seconds is not None and window_seconds <= 0:
        raise MaviValidationError(f"window_seconds must be positive, got {window_seconds!r}.")
    source = (transcript.video_no, transcript.video_name, transcript.kind)
    found: list[Passage] = []
    for s in transcript.segments:
        if found and window_seconds and s.end - found[-1].start <= window_seconds:
            last = found[-1]
            found[-1] = replace(last, end=max(last.end, s.end), text=f"{last.text}\n{s.text}")
        else:
            found.append(Passage(*source, s.start, s.end, s.text))
    return found


def passages(
    transcripts: Iterable[VideoTranscript], window_seconds: float | None = None
) -> Iterator[Passage]:
    """What both loaders turn into documents."""
    for transcript in transcripts:
        yield from transcript_passages(transcript, window_seconds)


_LABEL: Final[Mapping[TranscriptKind, str]] = {"visual": "shown", "audio": "said"}
_ORDER: Final[Mapping[TranscriptKind, int]] = {"visual": 0, "audio": 1}  # at one time: shown first


def _overlaps(segment: TranscriptSegment, moment: Moment) -> bool:
    if moment.end <= moment.start:  # a moment without length: the segments around it
        return segment.start <= moment.start <= segment.end
    return segment.start < moment.end and segment.end > moment.start


def moment_content(moment: Moment, transcripts: Iterable[VideoTranscript]) -> str | None:
    """The moment's line, then the transcript lines overlapping it (and `Moment.text` unless a
    line says it); None without any (docs/client.md#moments-with-content)."""
    found: list[tuple[TranscriptKind, TranscriptSegment]] = [
        (transcript.kind, segment)
        for transcript in transcripts
        if transcript.video_no == moment.video_no
        for segment in transcript.segments
        if _overlaps(segment, moment)
    ]
    if moment.text and moment.text not in {s.text for kind, s in found if kind == "audio"}:
        found.append(("audio", TranscriptSegment(moment.start, moment.end, moment.text)))
    found.sort(key=lambda pair: (pair[1].start, _ORDER[pair[0]]))
    lines = [f"{_LABEL[kind]} {_clock(s.start)}-{_clock(s.end)}: {s.text}" for kind, s in found]
    return "\n".join([describe_moment(moment), *lines]) if lines else None


def moment_text(moment: Moment, transcripts: Iterable[VideoTranscript], query: str) -> str:
    """What a retrieved moment says: `moment_content`, else the line describing it."""
    return moment_content(moment, transcripts) or describe_moment(moment, query)


def without_transcripts(error: MaviError, required: bool | None) -> list[VideoTranscript]:
    """A retriever's failed transcripts: raised when required, else none (and a debug log)."""
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
    """A retriever's `get_transcripts` arguments for `moments` (None: none to fetch)."""
    if with_transcript is False or not moments:
        return None
    videos = {m.video_no: Video(m.video_no, m.video_name, duration=m.duration) for m in moments}
    return {
        "video_nos": list(videos),
        "videos": list(videos.values()),
        "timeout": timeout,
        "unique_id": unique_id,
    }
