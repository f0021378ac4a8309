"""The v1.0 video endpoints (search, list, upload, delete, transcription): calls and replies.

Pure: each function describes a call as an `ApiCall` or reads a reply's `data`; the polling
states decide when to ask again. The clients do the I/O (opening an upload's file, sending it);
progress bars live in `_progress`.
"""

from __future__ import annotations

import math
import mimetypes
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from ._exceptions import MaviServerError, MaviTimeoutError, MaviValidationError, MaviVideoError
from ._request import ApiCall, UploadFile, normalize_video_nos

__all__ = [
    "Moment",
    "ParseWatch",
    "PollDeadline",
    "Transcript",
    "TranscriptSegment",
    "UploadFile",
    "Video",
    "VideoPager",
    "delete_calls",
    "describe_moment",
    "moment_metadata",
    "moment_scores",
    "parse_moments",
    "parse_task_no",
    "parse_transcription",
    "parse_video",
    "parse_videos",
    "rank_moments",
    "rank_score",
    "search_moments_call",
    "search_videos_call",
    "transcription_poll_call",
    "transcription_submit_call",
    "upload_call",
]

SEARCH_AI_PATH: Final = "/api/serve/video/searchAI"
SEARCH_FRAGMENT_PATH: Final = "/api/serve/video/searchVideoFragment"
SEARCH_DB_PATH: Final = "/api/serve/video/searchDB"
UPLOAD_PATH: Final = "/api/serve/video/upload"
UPLOAD_URL_PATH: Final = "/api/serve/video/uploadUrl"
DELETE_PATH: Final = "/api/serve/video/delete"
SUBMIT_TRANSCRIPTION_PATH: Final = "/api/serve/video/subTranscription"
GET_TRANSCRIPTION_PATH: Final = "/api/serve/video/getTranscription"

MAX_PAGE_SIZE: Final = 200
MAX_DELETE_BATCH: Final = 500
PARSED: Final = "PARSE"
FAILED_STATUSES: Final = frozenset({"FAIL", "FAILED", "PARSE_ERROR", "ERROR"})


def _number(value: object) -> float | None:
    """Numbers arrive as numbers or as strings ("193")."""
    if value is None or value == "":
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _millis_to_datetime(value: object) -> datetime | None:
    millis = _number(value)
    return None if millis is None else datetime.fromtimestamp(millis / 1000.0, tz=UTC)


def _items(data: object, key: str) -> list[Mapping[str, Any]]:
    items = data.get(key) if isinstance(data, Mapping) else data
    if items is None:
        return []
    if not isinstance(items, list):
        raise MaviServerError(f"MAVI answered without a list of {key}; cannot read the reply.")
    return [item for item in items if isinstance(item, Mapping)]


@dataclass(frozen=True, slots=True)
class Video:
    """A video in the account's library."""

    video_no: str
    video_name: str = ""
    status: str = ""
    """PARSE (ready), UNPARSE (pending), or a failure: FAIL, FAILED, PARSE_ERROR."""
    upload_time: datetime | None = None
    duration: float | None = None
    """Seconds."""

    @property
    def is_parsed(self) -> bool:
        return self.status.upper() == PARSED

    @property
    def is_failed(self) -> bool:
        return self.status.upper() in FAILED_STATUSES


@dataclass(frozen=True, slots=True)
class Moment:
    """A stretch of a video that matched a search, in seconds."""

    video_no: str
    video_name: str
    start: float
    end: float
    duration: float | None = None
    score: float | None = None


def check_limit(limit: object) -> None:
    """`limit` is None (all) or a whole number from 1."""
    if limit is None:
        return
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise MaviValidationError(f"limit must be a whole number from 1, or None, got {limit!r}.")


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def describe_moment(moment: Moment, query: str | None = None) -> str:
    """One line a retriever can hand to an LLM: which video, which stretch, what matched."""
    where = f"{moment.video_name or moment.video_no} {_clock(moment.start)}-{_clock(moment.end)}"
    return f"{where}: moment matching {query!r}" if query else where


def moment_metadata(moment: Moment, score: float | None = None) -> dict[str, Any]:
    """The metadata both retrievers attach: video_no, video_name, start, end, and the score
    (`score` if given, else the service's if it sent one)."""
    metadata: dict[str, Any] = {
        "video_no": moment.video_no,
        "video_name": moment.video_name,
        "start": moment.start,
        "end": moment.end,
    }
    if score is None:
        score = moment.score
    if score is not None:
        metadata["score"] = score
    return metadata


def rank_score(rank: int) -> float:
    """The score of the moment at `rank` (0 = best) when the service sends none: 1 / (1 + rank),
    the reciprocal rank: 1.0, 0.5, 0.333..., the same whatever the number of results."""
    return 1.0 / (1 + rank)


def moment_scores(moments: Sequence[Moment]) -> list[float]:
    """The score of each moment, best first: the service's when every moment carries one (the
    live service sends none), else `rank_score` of its place for all, so scores never rise."""
    if all(moment.score is not None for moment in moments):
        return [moment.score for moment in moments if moment.score is not None]
    return [rank_score(rank) for rank in range(len(moments))]


def rank_moments(moments: Iterable[Moment], limit: int | None) -> list[Moment]:
    """Best score first (unscored last, in the service's order), at most `limit`."""
    check_limit(limit)
    ranked = sorted(moments, key=lambda m: -m.score if m.score is not None else float("inf"))
    return ranked if limit is None else ranked[:limit]


@dataclass(frozen=True, slots=True)
class TranscriptSegment:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    """A finished transcription (`kind` AUDIO: speech; VIDEO: what is seen)."""

    video_no: str
    task_no: str
    kind: str
    segments: list[TranscriptSegment] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(segment.text for segment in self.segments)


def parse_video(item: object) -> Video:
    if not isinstance(item, Mapping) or not item.get("videoNo"):
        raise MaviServerError("MAVI answered without a videoNo; cannot read the video.")
    return Video(
        video_no=str(item["videoNo"]),
        video_name=str(item.get("videoName") or ""),
        status=str(item.get("videoStatus") or ""),
        upload_time=_millis_to_datetime(item.get("uploadTime")),
        duration=_number(item.get("duration")),
    )


def parse_videos(data: object) -> list[Video]:
    return [parse_video(item) for item in _items(data, "videos")]


def parse_moments(data: object) -> list[Moment]:
    moments = []
    for item in _items(data, "videos"):
        start = _number(item.get("fragmentStartTime")) or 0.0
        end = _number(item.get("fragmentEndTime"))
        moments.append(
            Moment(
                video_no=str(item.get("videoNo") or ""),
                video_name=str(item.get("videoName") or ""),
                start=start,
                end=start if end is None else end,
                duration=_number(item.get("duration")),
                score=_number(item.get("score")),
            )
        )
    return moments


def _query(query: object) -> str:
    if not isinstance(query, str) or not query.strip():
        raise MaviValidationError("query is empty: pass the words to search the videos for.")
    return query


def search_videos_call(query: str) -> ApiCall:
    return ApiCall("POST", SEARCH_AI_PATH, json={"searchValue": _query(query)})


def search_moments_call(query: str, video_nos: Iterable[str]) -> ApiCall:
    body = {"videoNos": normalize_video_nos(video_nos), "searchValue": _query(query)}
    return ApiCall("POST", SEARCH_FRAGMENT_PATH, json=body)


def _millis(value: datetime | float | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.timestamp()
    return int(value * 1000)


@dataclass
class VideoPager:
    """Walks searchDB page by page until every video was read."""

    status: str | None = None
    name: str | None = None
    start_time: datetime | float | None = None
    """Unix seconds or a datetime; sent in milliseconds."""
    end_time: datetime | float | None = None
    page_size: int = MAX_PAGE_SIZE
    page: int = 1
    seen: int = 0
    done: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise MaviValidationError(
                f"page_size must be from 1 to {MAX_PAGE_SIZE}, got {self.page_size}."
            )

    def next_call(self) -> ApiCall | None:
        if self.done:
            return None
        params = {
            "page": self.page,
            "pageSize": self.page_size,
            "videoStatus": self.status,
            "videoName": self.name,
            "startTime": _millis(self.start_time),
            "endTime": _millis(self.end_time),
        }
        return ApiCall(
            "GET", SEARCH_DB_PATH, params={k: v for k, v in params.items() if v is not None}
        )

    def read(self, data: object) -> list[Video]:
        videos = [parse_video(item) for item in _items(data, "videoData")]
        self.seen += len(videos)
        total = _number(data.get("total")) if isinstance(data, Mapping) else None
        self.page += 1
        self.done = (
            not videos or len(videos) < self.page_size or (total is not None and self.seen >= total)
        )
        return videos


def _is_url(source: str | os.PathLike[str]) -> bool:
    return isinstance(source, str) and source.startswith(("http://", "https://"))


def upload_call(
    source: str | os.PathLike[str], callback_uri: str | None = None
) -> tuple[ApiCall, UploadFile | None]:
    """Upload from a URL (uploadUrl) or from a local file (multipart `file`)."""
    params = {"callBackUri": callback_uri} if callback_uri else None
    if _is_url(source):
        return ApiCall("POST", UPLOAD_URL_PATH, json={"url": source}, params=params), None
    path = Path(source)
    if not path.is_file():
        raise MaviValidationError(
            f"No file at {str(path)!r}: pass the path of a video file, or an http(s) URL."
        )
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    upload = UploadFile(path, mime, path.stat().st_size)
    return ApiCall("POST", UPLOAD_PATH, params=params), upload


def delete_calls(video_nos: Iterable[str]) -> list[ApiCall]:
    """DELETE takes a bare JSON array of at most 500 video numbers: one call per batch."""
    videos = normalize_video_nos(video_nos)
    return [
        ApiCall("DELETE", DELETE_PATH, json=videos[start : start + MAX_DELETE_BATCH])
        for start in range(0, len(videos), MAX_DELETE_BATCH)
    ]


def transcription_submit_call(
    video_no: str, kind: Literal["AUDIO", "VIDEO"] = "AUDIO", callback_uri: str | None = None
) -> ApiCall:
    if kind not in ("AUDIO", "VIDEO"):
        raise MaviValidationError(f"kind must be 'AUDIO' or 'VIDEO', got {kind!r}.")
    (video,) = normalize_video_nos([video_no], name="video_no")
    body: dict[str, Any] = {"videoNo": video, "type": kind}
    if callback_uri:
        body["callBackUri"] = callback_uri
    return ApiCall("POST", SUBMIT_TRANSCRIPTION_PATH, json=body)


def parse_task_no(data: object) -> str:
    task_no = data.get("taskNo") if isinstance(data, Mapping) else data
    if not task_no:
        raise MaviServerError("MAVI accepted the transcription but sent no taskNo.")
    return str(task_no)


def transcription_poll_call(task_no: str) -> ApiCall:
    return ApiCall("GET", GET_TRANSCRIPTION_PATH, params={"taskNo": task_no})


def parse_transcription(
    data: object, *, video_no: str, task_no: str, kind: str
) -> Transcript | None:
    """The transcript once FINISH, None while UNFINISHED."""
    status = str(data.get("status", "")).upper() if isinstance(data, Mapping) else ""
    if status in FAILED_STATUSES:
        raise MaviVideoError(f"MAVI could not transcribe {video_no} (status {status}).")
    if status != "FINISH":
        return None
    segments = [
        TranscriptSegment(
            start=_number(item.get("startTime")) or 0.0,
            end=_number(item.get("endTime")) or 0.0,
            text=str(item.get("content") or ""),
        )
        for item in _items(data, "transcriptions")
    ]
    return Transcript(video_no=video_no, task_no=task_no, kind=kind, segments=segments)


@dataclass
class PollDeadline:
    """How long to wait between polls, and when to give up."""

    timeout: float
    started: float
    interval: float = 2.0
    what: str = "the operation"

    def __post_init__(self) -> None:
        for name, value, least in (
            ("timeout", self.timeout, 0),
            ("poll_interval", self.interval, 1e-9),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise MaviValidationError(f"{name} must be seconds (a number), got {value!r}.")
            if not math.isfinite(value) or value < least:
                what = "seconds from 0 (0: look once)" if least == 0 else "positive seconds"
                raise MaviValidationError(f"{name} must be {what}, got {value!r}.")

    def next_delay(self, now: float) -> float:
        left = self.started + self.timeout - now
        if left <= 0:
            raise MaviTimeoutError(
                f"Timed out after {self.timeout:.0f} s waiting for {self.what}. "
                "Call again with a larger timeout, or check the videos' status."
            )
        return min(self.interval, left)


class ParseWatch:
    """Which of the awaited videos are parsed; raises when one failed or went missing."""

    def __init__(self, video_nos: Iterable[str]) -> None:
        self.video_nos = normalize_video_nos(video_nos)
        self.videos: dict[str, Video] = {}

    @property
    def parsed(self) -> int:
        return sum(video.is_parsed for video in self.videos.values())

    @property
    def done(self) -> bool:
        return self.parsed == len(self.video_nos)

    def update(self, listed: Iterable[Video]) -> None:
        wanted = set(self.video_nos)
        self.videos.update({video.video_no: video for video in listed if video.video_no in wanted})
        failed = [video for video in self.videos.values() if video.is_failed]
        if failed:
            names = ", ".join(f"{video.video_no} ({video.status})" for video in failed)
            raise MaviVideoError(
                f"MAVI could not parse {names}. Upload the file again or try another format.",
                video_nos=[video.video_no for video in failed],
            )
        missing = wanted - self.videos.keys()
        if missing:
            raise MaviVideoError(
                f"No such video in the library: {', '.join(sorted(missing))}. "
                "Check the video numbers.",
                video_nos=sorted(missing),
            )

    def result(self) -> list[Video]:
        return [self.videos[video_no] for video_no in self.video_nos]
