"""The emulator's video library: the built-in fictional samples plus uploaded videos.

The samples live in ``data/library.json`` (package data); their upload times are counted back
from the moment the library is loaded, so a "last 7 days" listing finds them. Uploaded videos
get numbers shaped like the service's (``mavi_video_`` and 18 digits), generated, clearly
synthetic scenes and transcript lines derived from their file name (none spoken when the name
says the file is ``silent`` or ``muted``: a video without sound), and move from ``UNPARSE`` to
``PARSE`` once ``parse_delay`` seconds have passed.

A video uploaded belongs to the library of one key and namespace (its `LibraryKey`: the owner of the
key and the v1.2 ``unique_id``, "default" for v1.0 uploads); the samples are in every library,
and deleting one hides it from that library only. The v1.0 paths see every video.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import PurePosixPath
from typing import Any, TypeAlias

from ._text import terms

LibraryKey: TypeAlias = tuple[str, str]
"""Whose library: the owner of the key (`TokenStore.owner`) and the namespace (``unique_id``)."""
DEFAULT_NAMESPACE = "default"

PARSE = "PARSE"
UNPARSE = "UNPARSE"


@dataclass(frozen=True, slots=True)
class Moment:
    """A timestamped scene description (speaker None) or transcript line (speaker set)."""

    start: int
    end: int
    text: str
    speaker: str | None = None
    terms: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def of(cls, start: int, end: int, text: str, speaker: str | None = None) -> Moment:
        return cls(start, end, text, speaker, terms(text))


@dataclass(frozen=True, slots=True)
class Video:
    video_no: str
    name: str
    duration: int
    upload_time_ms: int
    scenes: tuple[Moment, ...]
    transcript: tuple[Moment, ...]
    ready_at: float = 0.0  # time.monotonic() from which the status is PARSE
    callback_uri: str | None = None
    size: int = 0
    """Bytes uploaded (0: none, a sample or a URL)."""
    library: LibraryKey | None = None
    """The library it was uploaded to; None: a sample, in every library."""
    name_terms: frozenset[str] = field(default=frozenset(), compare=False)

    def status(self, now: float | None = None) -> str:
        current = time.monotonic() if now is None else now
        return PARSE if current >= self.ready_at else UNPARSE

    @property
    def moments(self) -> tuple[Moment, ...]:
        return self.scenes + self.transcript

    def summary(self, now: float | None = None) -> dict[str, str]:
        """The wire form used by upload, searchDB and searchAI (numbers as strings)."""
        return {
            "videoNo": self.video_no,
            "videoName": self.name,
            "videoStatus": self.status(now),
            "uploadTime": str(self.upload_time_ms),
            "duration": str(self.duration),
        }


_HOUR_MS = 3600 * 1000
UPLOAD_PREFIX = "mavi_video_"


def _video_from_json(raw: dict[str, Any], now_ms: int) -> Video:
    name = str(raw["videoName"])
    return Video(
        video_no=str(raw["videoNo"]),
        name=name,
        duration=int(raw["duration"]),
        upload_time_ms=now_ms - int(raw["uploadedHoursAgo"] * _HOUR_MS),
        scenes=tuple(Moment.of(s["start"], s["end"], s["text"]) for s in raw["scenes"]),
        transcript=tuple(
            Moment.of(t["start"], t["end"], t["text"], t["speaker"]) for t in raw["transcript"]
        ),
        name_terms=_name_terms(name),
    )


def _name_terms(name: str) -> frozenset[str]:
    return terms(PurePosixPath(name).stem.replace("_", " ").replace("-", " "))


def load_samples(now_ms: int | None = None) -> tuple[Video, ...]:
    """Read the built-in fictional library shipped as package data, uploaded before `now_ms`."""
    text = resources.files(__package__).joinpath("data/library.json").read_text("utf-8")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    return tuple(_video_from_json(raw, now) for raw in json.loads(text)["videos"])


_SCENE_TEMPLATES = (
    "[synthetic] Opening shot of {topic}: the camera holds still as the subject appears.",
    "[synthetic] A wider view of {topic} shows the surroundings and a few people moving around.",
    "[synthetic] Close-up details of {topic}: textures, colors and small movements.",
    "[synthetic] The camera pans slowly across {topic} from left to right.",
    "[synthetic] Something changes in {topic}: the light shifts and the pace picks up.",
    "[synthetic] Closing shot of {topic}; the picture fades out.",
)
_LINE_TEMPLATES = (
    "[synthetic] This is the beginning of {topic}.",
    "[synthetic] Here you can see {topic} more closely.",
    "[synthetic] Nearly done with {topic}, thanks for watching.",
)
_upload_counter = itertools.count(1)
_SILENT = frozenset({"silent", "muted"})
"""A file whose name holds one of these words is a video without sound: nothing is said in it."""


def synthetic_video(
    name: str, seed: bytes, *, ready_at: float, callback_uri: str | None = None
) -> Video:
    """Generate clearly synthetic content for an uploaded file, deterministic in its name."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\0" + seed).digest()
    duration = 60 + int.from_bytes(digest[:2], "big") % 241
    topic = " ".join(PurePosixPath(name).stem.replace("_", " ").replace("-", " ").split()) or name
    step = duration / len(_SCENE_TEMPLATES)
    scenes = tuple(
        Moment.of(round(i * step), round((i + 1) * step), template.format(topic=topic))
        for i, template in enumerate(_SCENE_TEMPLATES)
    )
    line_starts = (1, duration // 2, max(2, duration - 8))
    transcript = tuple(
        Moment.of(start, min(duration, start + 6), template.format(topic=topic), "the narrator")
        for start, template in zip(line_starts, _LINE_TEMPLATES, strict=True)
        if not _SILENT & _name_terms(name)
    )
    now_ms = int(time.time() * 1000)
    # Eighteen digits like the service's: the upload time, then a counter for the same ms.
    video_no = f"{UPLOAD_PREFIX}{now_ms % 10**13:013d}{next(_upload_counter) % 10**5:05d}"
    return Video(
        video_no=video_no,
        name=name,
        duration=duration,
        upload_time_ms=now_ms,
        scenes=scenes,
        transcript=transcript,
        ready_at=ready_at,
        callback_uri=callback_uri,
        name_terms=_name_terms(name),
    )


class Library:
    """Thread-safe store of the videos one emulator knows, samples first, in upload order."""

    def __init__(self, samples: Sequence[Video]) -> None:
        self._samples = tuple(samples)
        self._lock = threading.Lock()
        self._videos: dict[str, Video] = {}
        self._hidden: dict[LibraryKey, set[str]] = {}
        self.reset()

    @property
    def sample_video_nos(self) -> list[str]:
        return [video.video_no for video in self._samples]

    def reset(self) -> None:
        """Forget uploads and bring deleted samples back."""
        with self._lock:
            self._videos = {video.video_no: video for video in self._samples}
            self._hidden = {}

    def get(self, video_no: str) -> Video | None:
        with self._lock:
            return self._videos.get(video_no)

    def all(self) -> list[Video]:
        with self._lock:
            return list(self._videos.values())

    def add(self, video: Video) -> None:
        with self._lock:
            self._videos[video.video_no] = video

    def delete(self, video_nos: Iterable[str]) -> list[str]:
        """Delete all of `video_nos`, or none: returns the unknown ones (then nothing changed)."""
        wanted = list(dict.fromkeys(video_nos))
        with self._lock:
            unknown = [video_no for video_no in wanted if video_no not in self._videos]
            if not unknown:
                for video_no in wanted:
                    del self._videos[video_no]
            return unknown

    def _in(self, video: Video | None, where: LibraryKey) -> bool:
        if video is None:
            return False
        if video.library is None:
            return video.video_no not in self._hidden.get(where, ())
        return video.library == where

    def get_in(self, video_no: str, where: LibraryKey) -> Video | None:
        """The video, if it is in the library of `where`."""
        with self._lock:
            video = self._videos.get(video_no)
            return video if self._in(video, where) else None

    def all_in(self, where: LibraryKey) -> list[Video]:
        """The videos of the library of `where`: its uploads and the samples it kept."""
        with self._lock:
            return [video for video in self._videos.values() if self._in(video, where)]

    def delete_in(self, video_nos: Iterable[str], where: LibraryKey) -> list[str]:
        """Delete all of `video_nos` from the library of `where`, or none: returns the ones not
        in it (then nothing changed). Its uploads are deleted, samples hidden from it only."""
        wanted = list(dict.fromkeys(video_nos))
        with self._lock:
            unknown = [no for no in wanted if not self._in(self._videos.get(no), where)]
            if unknown:
                return unknown
            for video_no in wanted:
                if self._videos[video_no].library is None:
                    self._hidden.setdefault(where, set()).add(video_no)
                else:
                    del self._videos[video_no]
            return []
