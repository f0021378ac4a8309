"""The video endpoints' replies in both dialects, and the rules of listings, polling, moments
and transcripts. Pure, no I/O: `_dialect` builds the calls; the readers here take the spellings
of both dialects (docs/v1.2.md#videos-and-sessions).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeAlias, get_args

from ._exceptions import MaviServerError, MaviValidationError, MaviVideoError
from ._models import rank_score
from ._request import ApiCall, normalize_video_nos

SearchType: TypeAlias = Literal["BY_CLIP", "BY_VIDEO", "BY_AUDIO", "BY_IMAGE", "BY_CAPTION"]
SEARCH_TYPES: Final[tuple[SearchType, ...]] = get_args(SearchType)
"""v1.2's search types (docs/v1.2.md#videos-and-sessions); BY_CLIP is the service's default."""
DEFAULT_SEARCH_TYPE: Final[SearchType] = "BY_CLIP"
MAX_PAGE_SIZE: Final = 200
MAX_PAGES: Final = 100_000  # the most one listing reads: 20 million videos at 200 a page
PARSED: Final = "PARSE"
FAILED_STATUSES: Final = frozenset({"FAIL", "FAILED", "PARSE_ERROR", "ERROR"})
STATUSES: Final = frozenset({PARSED, "UNPARSE", *FAILED_STATUSES})  # a listing's filters


def given(**fields: Any) -> dict[str, Any]:
    """The fields that have a value: the optional ones are sent only when given."""
    return {name: value for name, value in fields.items() if value is not None}


def is_whole(value: object, least: int, most: float = math.inf) -> bool:
    """Whether `value` is a whole number (an int, not a bool) from `least` to `most`."""
    return isinstance(value, int) and not isinstance(value, bool) and least <= value <= most


def _number(value: object) -> float | None:
    """A finite number, sent as a number or a string ("193"); else None ("NaN", 1e400)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def span(
    start: object, end: object, read: Callable[[object], float | None] = _number
) -> tuple[float, float | None] | None:
    """A hit's times (start 0 when absent); None when one is there but unreadable (`read`)."""
    times = read(start), read(end)
    if (start is not None and times[0] is None) or (end is not None and times[1] is None):
        return None
    return times[0] or 0.0, times[1]


def _millis_to_datetime(value: object) -> datetime | None:
    """Milliseconds since the epoch; None when absent or out of `datetime`'s range."""
    millis = _number(value)
    try:
        return None if millis is None else datetime.fromtimestamp(millis / 1000.0, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _items(data: object, *keys: str) -> list[Mapping[str, Any]]:
    """The list under the first of `keys` the reply holds, or the reply itself if a list."""
    items = _field(data, *keys) if isinstance(data, Mapping) else data
    if not isinstance(items, list | None):
        raise MaviServerError(f"MAVI answered without a list of {keys[0]}; cannot read the reply.")
    return [item for item in items or () if isinstance(item, Mapping)]


def _field(item: object, *names: str) -> Any:
    """The first of `names` the item (an object, else None) holds with a value: the dialects
    spell fields differently (videoNo, video_no), and a field may be the string "null"."""
    values = (item.get(name) for name in names) if isinstance(item, Mapping) else ()
    return next((value for value in values if value not in (None, "", "null")), None)


@dataclass(frozen=True, slots=True)
class Video:
    """A video in the account's library."""

    video_no: str
    video_name: str = ""
    status: str = ""  # PARSE (ready), UNPARSE (pending), or a failure: FAIL, FAILED, PARSE_ERROR
    upload_time: datetime | None = None
    duration: float | None = None  # seconds

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
    text: str = ""  # what is said in it, when the search sent it (a BY_AUDIO hit's `audio_ts`)


def check_limit(limit: object) -> None:
    if limit is not None and not is_whole(limit, 1):
        raise MaviValidationError(f"limit must be a whole number from 1, or None, got {limit!r}.")


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def describe_moment(moment: Moment, query: str | None = None) -> str:
    """One line a retriever can hand to an LLM: which video, which stretch, what matched."""
    where = f"{moment.video_name or moment.video_no} {_clock(moment.start)}-{_clock(moment.end)}"
    return f"{where}: moment matching {query!r}" if query else where


def moment_metadata(moment: Moment, score: float | None = None) -> dict[str, Any]:
    """The metadata both retrievers attach; the score is `score`, else the service's if any."""
    return given(
        video_no=moment.video_no,
        video_name=moment.video_name,
        start=moment.start,
        end=moment.end,
        score=moment.score if score is None else score,
    )


def moment_scores(moments: Sequence[Moment]) -> list[float]:
    """The score of each moment, best first: the service's when every moment carries one (the
    live service sends none), else `rank_score` of its place for all, so scores never rise."""
    if all(moment.score is not None for moment in moments):
        return [moment.score for moment in moments if moment.score is not None]
    return [rank_score(rank) for rank in range(len(moments))]


def rank_moments(moments: Iterable[Moment], limit: int | None) -> list[Moment]:
    """Best score first (unscored last, in the service's order), each once (a server that
    ignores `video_nos` sends the same hits to every request), at most `limit`."""
    unique = dict.fromkeys(moments)
    ranked = sorted(unique, key=lambda m: -m.score if m.score is not None else float("inf"))
    return ranked if limit is None else ranked[:limit]


@dataclass(frozen=True, slots=True)
class TranscriptSegment:
    start: float
    end: float
    text: str


def time_unit(segments: Sequence[TranscriptSegment], duration: float | None) -> Literal["s", "ms"]:
    """Whether a transcript's times are seconds or milliseconds (the service documents seconds;
    live replies were read as milliseconds too): the rule of docs/client.md#transcripts."""
    if not segments:
        return "s"
    latest = max(max(segment.start, segment.end) for segment in segments)
    if duration is not None and duration > 0:  # seconds cannot pass 10x the video's end
        return "ms" if latest > duration * 10 else "s"
    typical = statistics.median(max(0.0, segment.end - segment.start) for segment in segments)
    return "ms" if latest > 36_000 or typical >= 500 else "s"  # past 10 hours, or 8 minutes a line


@dataclass(frozen=True)
class Transcript:
    """A finished transcription (`kind` AUDIO: speech; VIDEO: what is seen): its segments in
    seconds, whatever unit the service used (`unit`, found by `time_unit`)."""

    video_no: str
    task_no: str
    kind: str
    segments: list[TranscriptSegment] = field(default_factory=list)
    unit: Literal["s", "ms"] = "s"

    @property
    def text(self) -> str:
        return "\n".join(segment.text for segment in self.segments)


_MOMENT_LISTS: Final = ("videos", "items", "item", "results", "data")  # v1.0 data.videos, v1.2 data


def _video_no(item: object) -> str | int | None:
    """A video number: a string (or a number); a list or an object names no video."""
    value = _field(item, "videoNo", "video_no")
    return value if isinstance(value, str | int) and not isinstance(value, bool) else None


def parse_video(item: object) -> Video:
    """A video as either dialect writes it (v1.0 `videoNo`, `videoStatus`, `uploadTime`;
    v1.2 `video_no`, `status`, `create_time`), numbers as numbers or strings."""
    video_no = _video_no(item)
    if video_no is None:
        raise MaviServerError("MAVI answered without a videoNo; cannot read the video.")
    uploaded = _field(item, "uploadTime", "upload_time", "create_time", "createTime")
    return Video(
        video_no=str(video_no),
        video_name=str(_field(item, "videoName", "video_name") or ""),
        status=str(_field(item, "videoStatus", "video_status", "status") or ""),
        upload_time=_millis_to_datetime(uploaded),
        duration=_number(_field(item, "duration")),
    )


def parse_videos(data: object) -> list[Video]:
    """The videos of a search reply, each once, in order (v1.2 has no whole-video search: the
    videos of its clips, in the order of their best clip)."""
    videos: dict[str, Video] = {}
    for video in map(parse_video, _items(data, *_MOMENT_LISTS)):
        videos.setdefault(video.video_no, video)
    return list(videos.values())


def parse_moments(data: object) -> list[Moment]:
    """Search hits of either dialect, in seconds; a clip of no video or unreadable time skipped."""
    moments = []
    for item in _items(data, *_MOMENT_LISTS):
        video_no = _video_no(item)
        times = span(
            _field(item, "fragmentStartTime", "startTime", "start_time", "start"),
            _field(item, "fragmentEndTime", "endTime", "end_time", "end"),
        )
        if video_no is None or times is None:
            continue  # a clip of no video, or at no readable time: nothing to point at
        start, end = times
        audio = item.get("audio_ts")  # the words said, in a BY_AUDIO hit
        moments.append(
            Moment(
                video_no=str(video_no),
                video_name=str(_field(item, "videoName", "video_name") or ""),
                start=start,
                end=start if end is None else end,
                duration=_number(item.get("duration")),
                score=_number(item.get("score")),
                text=audio.strip() if isinstance(audio, str) and audio != "null" else "",
            )
        )
    return moments


def check_search_type(search_type: object) -> SearchType:
    """A v1.2 `search_type`: one of `SEARCH_TYPES` (upper case, as the service spells them)."""
    if search_type not in SEARCH_TYPES:
        raise MaviValidationError(
            f"search_type must be one of {', '.join(SEARCH_TYPES)}, got {search_type!r}; "
            f"e.g. search_type='BY_AUDIO' to search what is said."
        )
    return search_type


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


@dataclass(kw_only=True)
class Pages:
    """Where a paged listing stands and when it ends, in both dialects' pagers: the rules of
    docs/errors-and-wire.md#listings-times-and-polling."""

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

    def call(self) -> ApiCall:
        """The call of page `page`, while the listing has not ended (`done`)."""
        raise NotImplementedError

    def read(self, data: object) -> list[Any]:
        """A page's items, counted (`turn`); none when it repeats the page before."""
        raise NotImplementedError


@dataclass
class VideoPager(Pages):
    """Walks the v1.0 library listing (searchDB) page by page, filters checked now."""

    status: str | None = None
    name: str | None = None
    start_time: datetime | float | None = None
    end_time: datetime | float | None = None
    page_size: int = MAX_PAGE_SIZE
    unique_id: str | None = None  # v1.2: whose library (checked by the caller); None: "default"

    def __post_init__(self) -> None:
        if not is_whole(self.page_size, 1, MAX_PAGE_SIZE):
            raise MaviValidationError(
                f"page_size must be from 1 to {MAX_PAGE_SIZE}, got {self.page_size!r}."
            )
        status = self.status.strip().upper() if isinstance(self.status, str) else self.status
        if status is not None and status not in STATUSES:
            raise MaviValidationError(
                f"status must be one of {', '.join(sorted(STATUSES))} (or None for any), "
                f"got {self.status!r}."
            )
        self.status = status
        if self.name is not None and (not isinstance(self.name, str) or not self.name.strip()):
            raise MaviValidationError(
                f"name must be a non-empty string (part of the video's name), got {self.name!r}."
            )
        self._start = _seconds(self.start_time, "start_time")
        self._end = _seconds(self.end_time, "end_time")
        if self._start is not None and self._end is not None and self._start > self._end:
            raise MaviValidationError("start_time is after end_time: no video matches; swap them.")

    def call(self) -> ApiCall:
        params = given(
            page=self.page,
            pageSize=self.page_size,
            videoStatus=self.status,
            videoName=self.name,
            startTime=None if self._start is None else int(self._start * 1000),
            endTime=None if self._end is None else int(self._end * 1000),
        )
        return ApiCall("GET", "/api/serve/video/searchDB", params=params)

    def read(self, data: object) -> list[Video]:
        videos = [parse_video(item) for item in _items(data, "videoData", "videos")]
        total = _number(_field(data, "total", "total_count", "totalCount"))
        return videos if self.turn([v.video_no for v in videos], total, self.page_size) else []


@dataclass
class V12VideoPager(VideoPager):
    """The v1.2 listing, `POST /serve/api/v1/list_videos`, which has no time filter: the times
    are checked here on each video's upload time instead."""

    def call(self) -> ApiCall:
        body = given(page=self.page, size=self.page_size, video_name=self.name,
                     status=self.status, unique_id=self.unique_id)  # fmt: skip
        return ApiCall("POST", "/serve/api/v1/list_videos", json=body)

    def read(self, data: object) -> list[Video]:
        return [video for video in super().read(data) if self._in_time(video)]

    def _in_time(self, video: Video) -> bool:
        when = math.nan if video.upload_time is None else video.upload_time.timestamp()
        after = self._start is None or when >= self._start  # NaN (no time) is in no range
        return after and (self._end is None or when <= self._end)


def parse_task_no(data: object) -> str:
    task_no = data.get("taskNo") if isinstance(data, Mapping) else data
    if not task_no:
        raise MaviServerError("MAVI accepted the transcription but sent no taskNo.")
    return str(task_no)


def parse_transcription(
    data: object,
    *,
    video_no: str,
    task_no: str = "",
    kind: str = "",
    v12: bool = False,
    duration: float | None = None,
) -> Transcript | None:
    """The transcript once FINISH, None while not (v1.2: `data: null`, or a status that is not
    FINISH); times in seconds (`time_unit`). The shapes: docs/v1.2.md#videos-and-sessions."""
    if not isinstance(data, Mapping):
        if v12 and data is not None:  # no task to wait for: a reply without one is unreadable
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
