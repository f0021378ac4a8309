"""The video endpoints (search, list, upload, delete, transcription) of both dialects: calls
and replies.

Pure: each function describes a call as an `ApiCall` or reads a reply's `data`; the polling
states decide when to ask again. The clients do the I/O (opening an upload's file, sending it);
progress bars live in `_progress`. The `v12_` builders speak the v1.2 wire (host
`api.memories.ai`, paths `/serve/api/v1/...`, snake_case fields; `_dialect` picks them); the
readers accept the spellings of both dialects, so one parser serves both where the shapes
agree (see "Videos and sessions" in docs/v1.2.md).
"""

from __future__ import annotations

import math
import mimetypes
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

from ._exceptions import MaviServerError, MaviTimeoutError, MaviValidationError, MaviVideoError
from ._models import rank_score
from ._request import ApiCall, UploadFile, normalize_video_nos

__all__ = [
    "Moment",
    "Pages",
    "ParseWatch",
    "PollDeadline",
    "SearchType",
    "Transcript",
    "TranscriptSegment",
    "UploadFile",
    "V12VideoPager",
    "Video",
    "VideoPager",
    "check_callback",
    "check_search_type",
    "delete_calls",
    "describe_moment",
    "moment_metadata",
    "moment_scores",
    "parse_moments",
    "parse_search_videos",
    "parse_task_no",
    "parse_transcription",
    "parse_video",
    "parse_videos",
    "rank_moments",
    "rank_score",
    "search_moments_call",
    "search_videos_call",
    "time_unit",
    "transcription_poll_call",
    "transcription_submit_call",
    "upload_call",
    "v12_search_calls",
    "v12_transcription_call",
    "v12_upload_call",
]

SEARCH_AI_PATH: Final = "/api/serve/video/searchAI"
SEARCH_FRAGMENT_PATH: Final = "/api/serve/video/searchVideoFragment"
SEARCH_DB_PATH: Final = "/api/serve/video/searchDB"
UPLOAD_PATH: Final = "/api/serve/video/upload"
UPLOAD_URL_PATH: Final = "/api/serve/video/uploadUrl"
DELETE_PATH: Final = "/api/serve/video/delete"
SUBMIT_TRANSCRIPTION_PATH: Final = "/api/serve/video/subTranscription"
GET_TRANSCRIPTION_PATH: Final = "/api/serve/video/getTranscription"

V12_UPLOAD_PATH: Final = "/serve/api/v1/upload"
V12_UPLOAD_URL_PATH: Final = "/serve/api/v1/upload_url"
V12_SEARCH_PATH: Final = "/serve/api/v1/search"
V12_LIST_VIDEOS_PATH: Final = "/serve/api/v1/list_videos"
V12_DELETE_PATH: Final = "/serve/api/v1/delete_videos"
V12_VIDEO_TRANSCRIPTION_PATH: Final = "/serve/api/v1/get_video_transcription"
V12_AUDIO_TRANSCRIPTION_PATH: Final = "/serve/api/v1/get_audio_transcription"
SearchType: TypeAlias = Literal["BY_CLIP", "BY_VIDEO", "BY_AUDIO", "BY_IMAGE", "BY_CAPTION"]
SEARCH_TYPES: Final[tuple[SearchType, ...]] = (
    "BY_CLIP", "BY_VIDEO", "BY_AUDIO", "BY_IMAGE", "BY_CAPTION")  # fmt: skip
"""v1.2 search: BY_CLIP (the service's default) finds clips by what is seen, BY_VIDEO is its
alias, BY_AUDIO finds spoken lines (each hit's `audio_ts`), BY_IMAGE searches the image
library, BY_CAPTION the captions."""
DEFAULT_SEARCH_TYPE: Final[SearchType] = "BY_CLIP"
V12_MAX_TOP_K: Final = 1000
V12_MAX_CAPTION_TOP_K: Final = 200
"""BY_CAPTION returns at most 200 results a search, the other types 1000."""
V12_MAX_SEARCH_VIDEOS: Final = 100
"""The most `video_nos` one v1.2 search takes: more are searched in several requests."""
V12_MAX_DELETE_BATCH: Final = 100
V12_DELETE: Final = ("POST", V12_DELETE_PATH, V12_MAX_DELETE_BATCH)
"""`POST /serve/api/v1/delete_videos`, at most 100 videos a call."""
V12_UPLOAD_TYPES: Final = {
    ".mp4": "video/mp4",
    ".avi": "video/x-msvideo",
    ".mkv": "video/x-matroska",
    ".mov": "video/quicktime",
}
"""The file types a v1.2 upload takes, and the `video/*` content type each is sent with."""
V12_MAX_UPLOAD_BYTES: Final = 3 * 1024**3
"""A v1.2 upload is at most 3 GB."""

MAX_PAGE_SIZE: Final = 200
MAX_DELETE_BATCH: Final = 500
PARSED: Final = "PARSE"
FAILED_STATUSES: Final = frozenset({"FAIL", "FAILED", "PARSE_ERROR", "ERROR"})
STATUSES: Final = frozenset({PARSED, "UNPARSE", *FAILED_STATUSES})
"""The statuses a listing can filter on."""


def _number(value: object) -> float | None:
    """Numbers arrive as numbers or as strings ("193"); only a finite one is a number ("NaN",
    "Infinity" and 1e400 are None)."""
    if value is None or value == "":
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _readable(*values: object) -> bool:
    """Whether every value is absent or a finite number: a clip or ref whose time is there but
    unreadable ("NaN", "Infinity") is dropped, never handed out with a made-up time."""
    return all(value is None or _number(value) is not None for value in values)


def _millis_to_datetime(value: object) -> datetime | None:
    """Milliseconds since the epoch; None when absent or out of `datetime`'s range."""
    millis = _number(value)
    if millis is None:
        return None
    try:
        return datetime.fromtimestamp(millis / 1000.0, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _items(data: object, *keys: str) -> list[Mapping[str, Any]]:
    """The list under the first of `keys` the reply holds, or the reply itself if a list."""
    items = data
    if isinstance(data, Mapping):
        items = next((data[key] for key in keys if data.get(key) is not None), None)
    if items is None:
        return []
    if not isinstance(items, list):
        raise MaviServerError(f"MAVI answered without a list of {keys[0]}; cannot read the reply.")
    return [item for item in items if isinstance(item, Mapping)]


def _field(item: Mapping[str, Any], *names: str) -> Any:
    """The first of `names` the item holds with a value: the dialects spell fields
    differently (videoNo, video_no), and a field may be the string "null"."""
    for name in names:
        value = item.get(name)
        if value is not None and value != "" and value != "null":
            return value
    return None


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
    text: str = ""
    """What is said in the moment, when the search sent it (a BY_AUDIO hit's `audio_ts`)."""


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


def moment_scores(moments: Sequence[Moment]) -> list[float]:
    """The score of each moment, best first: the service's when every moment carries one (the
    live service sends none), else `rank_score` of its place for all, so scores never rise."""
    if all(moment.score is not None for moment in moments):
        return [moment.score for moment in moments if moment.score is not None]
    return [rank_score(rank) for rank in range(len(moments))]


def rank_moments(moments: Iterable[Moment], limit: int | None) -> list[Moment]:
    """Best score first (unscored last, in the service's order), each once (a server that
    ignores `video_nos` sends the same hits to every request), at most `limit`."""
    check_limit(limit)
    unique = dict.fromkeys(moments)
    ranked = sorted(unique, key=lambda m: -m.score if m.score is not None else float("inf"))
    return ranked if limit is None else ranked[:limit]


@dataclass(frozen=True, slots=True)
class TranscriptSegment:
    start: float
    end: float
    text: str


MILLISECONDS_BEYOND_DURATION: Final = 10.0
"""Times reaching past 10x the video's duration cannot be seconds: they are milliseconds."""
MILLISECONDS_LATEST: Final = 36_000.0
"""Without a duration: a last time beyond 10 hours, counted in seconds, means milliseconds."""
MILLISECONDS_MEDIAN_SPAN: Final = 500.0
"""Without a duration: segments lasting 500 units or more (half of them) mean milliseconds."""


def time_unit(segments: Sequence[TranscriptSegment], duration: float | None) -> Literal["s", "ms"]:
    """Whether a transcript's times are seconds or milliseconds (the service documents seconds,
    and live replies were read as milliseconds too).

    With the video's duration known, times that reach beyond 10x the duration are milliseconds
    (seconds cannot pass the end of the video; milliseconds pass it about 1000x). Without it,
    milliseconds when the last time is beyond 10 hours counted in seconds, or when half of the
    segments last 500 units or more (8 minutes a line in seconds; half a second in ms).
    Otherwise seconds.
    """
    if not segments:
        return "s"
    latest = max(max(segment.start, segment.end) for segment in segments)
    if duration is not None and duration > 0:
        return "ms" if latest > duration * MILLISECONDS_BEYOND_DURATION else "s"
    import statistics

    span = statistics.median(max(0.0, segment.end - segment.start) for segment in segments)
    return "ms" if latest > MILLISECONDS_LATEST or span >= MILLISECONDS_MEDIAN_SPAN else "s"


@dataclass(frozen=True)
class Transcript:
    """A finished transcription (`kind` AUDIO: speech; VIDEO: what is seen)."""

    video_no: str
    task_no: str
    kind: str
    segments: list[TranscriptSegment] = field(default_factory=list)
    """In seconds, whatever unit the service used (`time_unit`; `unit` says which it was)."""
    unit: Literal["s", "ms"] = "s"
    """The unit of the service's reply."""

    @property
    def text(self) -> str:
        return "\n".join(segment.text for segment in self.segments)


_VIDEO_NO: Final = ("videoNo", "video_no")
_VIDEO_NAME: Final = ("videoName", "video_name")
_START: Final = ("fragmentStartTime", "startTime", "start_time", "start")
_END: Final = ("fragmentEndTime", "endTime", "end_time", "end")
_MOMENT_LISTS: Final = ("videos", "items", "item", "results", "data")
"""Where a search reply's list may sit (v1.0: `data.videos`; v1.2: `data` itself)."""


def _video_no(item: Mapping[str, Any]) -> str | int | None:
    """A video number: a string (or a number); a list or an object names no video."""
    value = _field(item, *_VIDEO_NO)
    return value if isinstance(value, str | int) and not isinstance(value, bool) else None


def parse_video(item: object) -> Video:
    """A video as either dialect writes it (v1.0 `videoNo`, `videoStatus`, `uploadTime`;
    v1.2 `video_no`, `status`, `create_time`), numbers as numbers or strings."""
    video_no = _video_no(item) if isinstance(item, Mapping) else None
    if video_no is None:
        raise MaviServerError("MAVI answered without a videoNo; cannot read the video.")
    assert isinstance(item, Mapping)
    uploaded = _field(item, "uploadTime", "upload_time", "create_time", "createTime")
    return Video(
        video_no=str(video_no),
        video_name=str(_field(item, *_VIDEO_NAME) or ""),
        status=str(_field(item, "videoStatus", "video_status", "status") or ""),
        upload_time=_millis_to_datetime(uploaded),
        duration=_number(item.get("duration")),
    )


def parse_videos(data: object) -> list[Video]:
    return [parse_video(item) for item in _items(data, "videos")]


def parse_moments(data: object) -> list[Moment]:
    """Search hits: v1.0 `fragmentStartTime` / `fragmentEndTime` under `data.videos`, v1.2
    `startTime` / `endTime`, `score` and `audio_ts` (the words said) in `data` itself; seconds,
    as numbers or strings. A clip without a video number, or whose time is not a finite number,
    is skipped."""
    moments = []
    for item in _items(data, *_MOMENT_LISTS):
        video_no, raw_start, raw_end = _video_no(item), _field(item, *_START), _field(item, *_END)
        if video_no is None or not _readable(raw_start, raw_end):
            continue  # a clip of no video, or at no readable time: nothing to point at
        start = _number(raw_start) or 0.0
        end = _number(raw_end)
        moments.append(
            Moment(
                video_no=str(video_no),
                video_name=str(_field(item, *_VIDEO_NAME) or ""),
                start=start,
                end=start if end is None else end,
                duration=_number(item.get("duration")),
                score=_number(item.get("score")),
                text=_spoken(item.get("audio_ts")),
            )
        )
    return moments


def _spoken(value: object) -> str:
    """A hit's `audio_ts` (the words said in it), or "" when it has none."""
    return value.strip() if isinstance(value, str) and value != "null" else ""


def parse_search_videos(data: object) -> list[Video]:
    """v1.2 has no whole-video search: the videos of its clips, each once, in the order of
    their best clip."""
    videos: dict[str, Video] = {}
    for item in _items(data, *_MOMENT_LISTS):
        video = parse_video(item)
        videos.setdefault(video.video_no, video)
    return list(videos.values())


def _query(query: object) -> str:
    if not isinstance(query, str) or not query.strip():
        raise MaviValidationError("query is empty: pass the words to search the videos for.")
    return query


def search_videos_call(query: str) -> ApiCall:
    return ApiCall("POST", SEARCH_AI_PATH, json={"searchValue": _query(query)})


def search_moments_call(query: str, video_nos: Iterable[str]) -> ApiCall:
    body = {"videoNos": normalize_video_nos(video_nos), "searchValue": _query(query)}
    return ApiCall("POST", SEARCH_FRAGMENT_PATH, json=body)


def check_search_type(search_type: object) -> SearchType:
    """A v1.2 `search_type`: one of `SEARCH_TYPES` (upper case, as the service spells them)."""
    if search_type not in SEARCH_TYPES:
        raise MaviValidationError(
            f"search_type must be one of {', '.join(SEARCH_TYPES)}, got {search_type!r}; "
            f"e.g. search_type='BY_AUDIO' to search what is said."
        )
    return search_type


def check_top_k(top_k: object, search_type: SearchType) -> None:
    """A v1.2 `top_k`: None (the service's default) or a whole number from 1 to 1000 (200 for
    BY_CAPTION), as the service accepts."""
    if top_k is None:
        return
    most = V12_MAX_CAPTION_TOP_K if search_type == "BY_CAPTION" else V12_MAX_TOP_K
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= most:
        raise MaviValidationError(
            f"A v1.2 {search_type} search returns 1 to {most} results: limit (top_k) must be a "
            f"whole number in that range, got {top_k!r}."
        )


def v12_search_calls(
    query: str,
    *,
    search_type: object = DEFAULT_SEARCH_TYPE,
    top_k: int | None = None,
    video_nos: Iterable[str] | None = None,
    unique_id: str | None = None,
) -> list[ApiCall]:
    """v1.2 `POST /serve/api/v1/search`: `search_param`, `search_type`, and `top_k`,
    `video_nos` and `unique_id` only when given (the service's own defaults otherwise). More
    than 100 videos are searched 100 at a time, one request each (their hits are ranked
    together by score: `rank_moments`). Checked here, before any request."""
    kind = check_search_type(search_type)
    check_top_k(top_k, kind)
    body: dict[str, Any] = {"search_param": _query(query), "search_type": kind}
    if top_k is not None:
        body["top_k"] = top_k
    if unique_id is not None:
        body["unique_id"] = unique_id
    if video_nos is None:
        return [ApiCall("POST", V12_SEARCH_PATH, json=body)]
    videos, step = normalize_video_nos(video_nos), V12_MAX_SEARCH_VIDEOS
    return [
        ApiCall("POST", V12_SEARCH_PATH, json={**body, "video_nos": videos[start : start + step]})
        for start in range(0, len(videos), step)
    ]


def _seconds(value: object, name: str) -> float | None:
    """A time filter as Unix seconds: None, a datetime (naive means local time) or a number."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MaviValidationError(
            f"{name} must be a datetime or Unix seconds (a number), got {value!r}; e.g. "
            f"{name}=datetime.now(UTC) - timedelta(days=1)."
        )
    return float(value)


def _millis(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1000)


def check_status(status: object) -> str | None:
    """A listing's status filter, upper case: one of `STATUSES`, or None (any)."""
    if status is None:
        return None
    if not isinstance(status, str) or status.strip().upper() not in STATUSES:
        raise MaviValidationError(
            f"status must be one of {', '.join(sorted(STATUSES))} (or None for any), "
            f"got {status!r}."
        )
    return status.strip().upper()


MAX_PAGES: Final = 100_000
"""The most pages one listing reads (20 million videos at 200 a page)."""


@dataclass(kw_only=True)
class Pages:
    """Where a paged listing stands and when it ends; both dialects' pagers (`VideoPager`,
    `SessionPager` in `_v12`) keep these rules. A listing ends on an empty page; when the reply
    gives a total, once that many items were read (a page short of the size asked does not end
    it then: a service may cap its pages); without a total, on a short page; and when a page
    repeats the page before (a server that ignores `page`), whose items are not handed out
    again. More than `MAX_PAGES` pages is a `MaviServerError`. The flows check their deadline
    between pages."""

    page: int = 1
    seen: int = 0
    done: bool = False
    last: tuple[str, ...] = ()

    def turn(self, keys: Sequence[str], total: float | None, size: float | None) -> bool:
        """Count a page whose items are `keys`; False when it repeats the page before."""
        page = tuple(keys)
        self.page += 1
        if page and page == self.last:
            self.done = True
            return False
        self.last = page
        self.seen += len(page)
        more = self.seen < total if total is not None else size is None or len(page) >= size
        self.done = not page or not more
        if not self.done and self.page > MAX_PAGES:
            raise MaviServerError(
                f"MAVI listed more than {MAX_PAGES} pages without an end; stopped reading. "
                "Narrow the listing (status=, name=)."
            )
        return True

    def next_call(self) -> ApiCall | None:
        """The next page's call, or None once the listing ended."""
        raise NotImplementedError

    def read(self, data: object) -> list[Any]:
        """A page's items, counted (`turn`); none when it repeats the page before."""
        raise NotImplementedError


@dataclass
class VideoPager(Pages):
    """Walks the v1.0 library listing (searchDB) page by page until every video was read."""

    status: str | None = None
    name: str | None = None
    start_time: datetime | float | None = None
    """Unix seconds or a datetime; sent in milliseconds."""
    end_time: datetime | float | None = None
    page_size: int = MAX_PAGE_SIZE
    unique_id: str | None = None
    """v1.2: the end user whose library this is (checked by the caller); None: "default"."""

    def __post_init__(self) -> None:
        size = self.page_size
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
            raise MaviValidationError(f"page_size must be from 1 to {MAX_PAGE_SIZE}, got {size!r}.")
        self.status = check_status(self.status)
        if self.name is not None and (not isinstance(self.name, str) or not self.name.strip()):
            raise MaviValidationError(
                f"name must be a non-empty string (part of the video's name), got {self.name!r}."
            )
        self._start = _seconds(self.start_time, "start_time")
        self._end = _seconds(self.end_time, "end_time")
        if self._start is not None and self._end is not None and self._start > self._end:
            raise MaviValidationError(
                "start_time is after end_time: no video can match; swap them."
            )

    def next_call(self) -> ApiCall | None:
        if self.done:
            return None
        params = {
            "page": self.page,
            "pageSize": self.page_size,
            "videoStatus": self.status,
            "videoName": self.name,
            "startTime": _millis(self._start),
            "endTime": _millis(self._end),
        }
        return ApiCall(
            "GET", SEARCH_DB_PATH, params={k: v for k, v in params.items() if v is not None}
        )

    def read(self, data: object) -> list[Video]:
        videos = [parse_video(item) for item in _items(data, "videoData", "videos")]
        total = None
        if isinstance(data, Mapping):
            total = _number(_field(data, "total", "total_count", "totalCount"))
        return (
            videos if self.turn([video.video_no for video in videos], total, self.page_size) else []
        )


@dataclass
class V12VideoPager(VideoPager):
    """The v1.2 listing, `POST /serve/api/v1/list_videos`, which has no time filter: the times
    are checked here on each video's upload time instead."""

    def next_call(self) -> ApiCall | None:
        if self.done:
            return None
        body = {"page": self.page, "size": self.page_size, "video_name": self.name,
                "status": self.status, "unique_id": self.unique_id}  # fmt: skip
        json = {k: v for k, v in body.items() if v is not None}
        return ApiCall("POST", V12_LIST_VIDEOS_PATH, json=json)

    def read(self, data: object) -> list[Video]:
        return [video for video in super().read(data) if self._in_time(video)]

    def _in_time(self, video: Video) -> bool:
        if self._start is None and self._end is None:
            return True
        if video.upload_time is None:
            return False
        when = video.upload_time.timestamp()
        return (self._start is None or when >= self._start) and (
            self._end is None or when <= self._end
        )


def _is_url(source: str | os.PathLike[str]) -> bool:
    return isinstance(source, str) and source.startswith(("http://", "https://"))


def _check_source(source: object, callback_uri: object) -> None:
    if isinstance(source, str):
        if not source.strip():
            raise MaviValidationError(
                "source is empty: pass the path of a video file, or an http(s) URL."
            )
    elif not isinstance(source, os.PathLike):
        raise MaviValidationError(
            "source must be the path of a video file (a str or pathlib.Path) or an http(s) "
            f"URL, got {type(source).__name__}."
        )
    check_callback(callback_uri)


def upload_call(
    source: str | os.PathLike[str], callback_uri: str | None = None
) -> tuple[ApiCall, UploadFile | None]:
    """v1.0: upload from a URL (uploadUrl) or from a local file (multipart `file`); a callback
    is the query `callBackUri`."""
    _check_source(source, callback_uri)
    params = {"callBackUri": callback_uri} if callback_uri else None
    if _is_url(source):
        return ApiCall("POST", UPLOAD_URL_PATH, json={"url": source}, params=params), None
    path, size = _local_file(source)
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return ApiCall("POST", UPLOAD_PATH, params=params), UploadFile(path, mime, size)


def v12_upload_call(
    source: str | os.PathLike[str], callback_uri: str | None = None, unique_id: str | None = None
) -> tuple[ApiCall, UploadFile | None]:
    """v1.2: `upload_url` takes the form field `url`, `upload` the part `file`; a callback is
    the form field `callback`, `unique_id` the form field `unique_id` (as the documentation's
    examples send them), never a query."""
    _check_source(source, callback_uri)
    fields = {"callback": callback_uri or None, "unique_id": unique_id}
    form = {name: value for name, value in fields.items() if value is not None} or None
    if _is_url(source):
        return ApiCall("POST", V12_UPLOAD_URL_PATH, form={"url": str(source), **(form or {})}), None
    return ApiCall("POST", V12_UPLOAD_PATH, form=form), _v12_upload_file(source)


def check_callback(callback_uri: object) -> None:
    """`callback_uri`: None or a URL string."""
    if callback_uri is not None and not isinstance(callback_uri, str):
        raise MaviValidationError(
            f"callback_uri must be a URL string (or None), got {callback_uri!r}; e.g. "
            "callback_uri='https://example.com/mavi-callback'."
        )


def _local_file(source: str | os.PathLike[str]) -> tuple[Path, int]:
    path = Path(source)
    if not path.is_file():
        raise MaviValidationError(
            f"No file at {str(path)!r}: pass the path of a video file, or an http(s) URL."
        )
    return path, path.stat().st_size


def _v12_upload_file(source: str | os.PathLike[str]) -> UploadFile:
    """The file to send; v1.2 takes only `V12_UPLOAD_TYPES` (sent with their `video/*` type)
    of at most 3 GB, checked here so that nothing is sent the service would refuse."""
    path, size = _local_file(source)
    mime = V12_UPLOAD_TYPES.get(path.suffix.lower())
    if mime is None:
        raise MaviValidationError(
            f"MAVI takes {', '.join(V12_UPLOAD_TYPES)} videos, not {path.name!r}: convert the "
            "file to one of them (e.g. MP4), or upload it from a URL."
        )
    if size == 0:
        raise MaviValidationError(f"{path.name!r} is empty: pass a video file.")
    if size > V12_MAX_UPLOAD_BYTES:
        raise MaviValidationError(
            f"{path.name!r} has {size} bytes; MAVI takes videos of at most 3 GB "
            f"({V12_MAX_UPLOAD_BYTES} bytes): cut or compress it, or upload it from a URL."
        )
    return UploadFile(path, mime, size)


def delete_calls(
    video_nos: Iterable[str],
    unique_id: str | None = None,
    *,
    how: tuple[str, str, int] = ("DELETE", DELETE_PATH, MAX_DELETE_BATCH),
) -> list[ApiCall]:
    """A bare JSON array of video numbers per call (`how`: method, path, most a call): v1.0
    `DELETE` with at most 500, v1.2 `V12_DELETE` (and the query `unique_id` when given: the
    body is the array)."""
    videos = normalize_video_nos(video_nos)
    method, path, batch = how
    params = None if unique_id is None else {"unique_id": unique_id}
    return [
        ApiCall(method, path, json=videos[start : start + batch], params=params)
        for start in range(0, len(videos), batch)
    ]


def _check_kind(kind: object) -> None:
    if kind not in ("AUDIO", "VIDEO"):
        raise MaviValidationError(f"kind must be 'AUDIO' or 'VIDEO', got {kind!r}.")


def v12_transcription_call(
    video_no: str, kind: Literal["AUDIO", "VIDEO"] = "AUDIO", *, unique_id: str | None = None
) -> ApiCall:
    """v1.2 has no transcription task: `GET get_audio_transcription` (AUDIO) or
    `get_video_transcription` (VIDEO) with the query `video_no` (and `unique_id` when given)
    reads the transcript."""
    _check_kind(kind)
    (video,) = normalize_video_nos([video_no], name="video_no")
    path = V12_AUDIO_TRANSCRIPTION_PATH if kind == "AUDIO" else V12_VIDEO_TRANSCRIPTION_PATH
    params = (
        {"video_no": video} if unique_id is None else {"video_no": video, "unique_id": unique_id}
    )
    return ApiCall("GET", path, params=params)


def transcription_submit_call(
    video_no: str, kind: Literal["AUDIO", "VIDEO"] = "AUDIO", callback_uri: str | None = None
) -> ApiCall:
    _check_kind(kind)
    check_callback(callback_uri)
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
    data: object,
    *,
    video_no: str,
    task_no: str,
    kind: str,
    v12: bool = False,
    duration: float | None = None,
) -> Transcript | None:
    """The transcript once FINISH, None while UNFINISHED. A v1.2 reply has no status: `data:
    null` means no transcript yet (not ready, or a video without sound: None), else it is the
    transcript (`transcriptions` or `transcription`, each item `startTime` / `endTime` /
    `content` or `start` / `end` / `text`). Times in seconds, read as milliseconds when
    `time_unit` says so (`duration`: the video's, when known)."""
    if data is None:
        return None
    if not isinstance(data, Mapping):
        if v12:  # no task to wait for: a reply without a transcript object is unreadable
            raise MaviServerError(
                f"MAVI answered the transcript of {video_no} with data that is "
                f"{type(data).__name__}, not an object; cannot read the transcript."
            )
        return None
    status = str(data.get("status") or ("FINISH" if v12 else "")).upper()
    if status in FAILED_STATUSES:
        raise MaviVideoError(f"MAVI could not transcribe {video_no} (status {status}).")
    if status != "FINISH":
        return None
    segments = [
        TranscriptSegment(
            start=_number(_field(item, "startTime", "start_time", "start")) or 0.0,
            end=_number(_field(item, "endTime", "end_time", "end")) or 0.0,
            text=str(_field(item, "content", "text") or ""),
        )
        for item in _items(data, "transcriptions", "transcription")
    ]
    unit = time_unit(segments, duration)
    if unit == "ms":
        segments = [TranscriptSegment(s.start / 1000, s.end / 1000, s.text) for s in segments]
    return Transcript(video_no, task_no, kind, segments, unit)


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
                raise MaviValidationError(
                    f"{name} must be seconds (a number), got {value!r}; e.g. {name}=30."
                )
            if not math.isfinite(value) or value < least:
                what = "seconds from 0 (0: look once)" if least == 0 else "positive seconds"
                raise MaviValidationError(f"{name} must be {what}, got {value!r}.")

    def next_delay(self, now: float) -> float:
        left = self.started + self.timeout - now
        if left <= 0:
            raise self._timed_out()
        return min(self.interval, left)

    def check(self, now: float) -> None:
        """Between the pages of one look: past the timeout is a `MaviTimeoutError`, except
        with timeout 0 ("look once"), whose one look is whole."""
        if self.timeout and now > self.started + self.timeout:
            raise self._timed_out()

    def _timed_out(self) -> MaviTimeoutError:
        return MaviTimeoutError(
            f"Timed out after {self.timeout:g} s waiting for {self.what}. "
            "Call again with a larger timeout, or check the videos' status."
        )


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
