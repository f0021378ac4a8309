"""The dialects of the MAVI API, v1.0 and v1.2: the call each operation sends and how its reply
is read. Pure, no I/O. `_flow.Operations` asks `dialect_of` for all that differs between the
versions (a third dialect is a third class here); the v1.2 wire: docs/v1.2.md.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar, Final, Literal, TypeAlias

from ._exceptions import MaviValidationError
from ._models import ChatAnswer, SessionDetail
from ._request import ApiCall, HistoryInput, UploadFile, build_chat_body, normalize_video_nos
from ._stream import ChatStreamDecoder
from ._v12 import (
    SessionPager,
    V12StreamDecoder,
    build_v12_body,
    check_unique_id,
    normalize_session_id,
    parse_session_detail,
    parse_v12_reply,
)
from ._videos import (
    DEFAULT_SEARCH_TYPE,
    Pages,
    SearchType,
    Transcript,
    V12VideoPager,
    VideoPager,
    check_search_type,
    given,
    is_whole,
    parse_transcription,
)

_USE_V12: Final = "create the client with api_version='v1.2' (or set MAVI_API_VERSION=v1.2)"
V12_UPLOAD_TYPES: Final = {  # the file types a v1.2 upload takes, each sent as its `video/*` type
    ".mp4": "video/mp4",
    ".avi": "video/x-msvideo",
    ".mkv": "video/x-matroska",
    ".mov": "video/quicktime",
}
V12_MAX_UPLOAD_BYTES: Final = 3 * 1024**3
V12_MAX_SEARCH_VIDEOS: Final = 100  # the most `video_nos` one v1.2 search takes

Kind = Literal["AUDIO", "VIDEO"]
ReadAnswer: TypeAlias = Callable[[bytes], ChatAnswer]
Search: TypeAlias = tuple[str, SearchType, str | None]  # a search's query, type and scope


def _check_callback(callback_uri: object) -> None:
    if callback_uri is not None and not isinstance(callback_uri, str):
        raise MaviValidationError(
            f"callback_uri must be a URL string (or None), got {callback_uri!r}; e.g. "
            "callback_uri='https://example.com/mavi-callback'."
        )


def _batches(video_nos: list[str], most: int) -> list[list[str]]:
    return [video_nos[start : start + most] for start in range(0, len(video_nos), most)]


def _url_or_file(source: object, callback_uri: object) -> str | Path:
    if isinstance(source, str) and not source.strip():
        raise MaviValidationError(
            "source is empty: pass the path of a video file, or an http(s) URL."
        )
    if not isinstance(source, str | os.PathLike):
        raise MaviValidationError(
            "source must be the path of a video file (a str or pathlib.Path) or an http(s) "
            f"URL, got {type(source).__name__}."
        )
    _check_callback(callback_uri)
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        return source
    path = Path(source)
    if not path.is_file():
        raise MaviValidationError(
            f"No file at {str(path)!r}: pass the path of a video file, or an http(s) URL."
        )
    return path


class Dialect:
    """v1.0: `/api/serve/video/...`, camelCase fields; the client sends the history, a search
    is two calls (videos, then their moments) and a transcription is a task."""

    stream_decoder: ClassVar[type[ChatStreamDecoder]] = ChatStreamDecoder
    pager: ClassVar[type[VideoPager]] = VideoPager
    searches_library: ClassVar[bool] = False  # one search of the library (no video_nos), ranked
    transcription_tasks: ClassVar[bool] = True  # submitted, then polled (else read at once)
    not_ready: ClassVar[str] = ""  # a timed-out transcript read's words after what it waited for
    chat_videos_field: ClassVar[str] = "videoNos"
    delete_batches: ClassVar[tuple[str, str, int]] = ("DELETE", "/api/serve/video/delete", 500)
    sessions_and_namespaces: ClassVar[bool] = False  # v1.2: sessions, unique_id, search types

    def _takes(self, what: str, then: str) -> None:
        """The refusal, before any request, of what only the v1.2 API takes."""
        if not self.sessions_and_namespaces:
            raise MaviValidationError(f"{what} belongs to the v1.2 API: {_USE_V12}{then}")

    def chat_call(
        self,
        video_nos: list[str],
        message: str,
        history: HistoryInput,
        session_id: str | int | None,
        unique_id: str | None,
        *,
        stream: bool,
    ) -> ApiCall:
        """The chat request, checked now, before anything is sent."""
        if session_id is not None or unique_id is not None:
            self._takes("A chat session (session_id, unique_id)", ". With v1.0, pass history=.")
        body = build_chat_body(video_nos, message, history, stream=stream)
        return ApiCall("POST", "/api/serve/video/chat", json=body)

    def chat_videos(self, call: ApiCall) -> list[str]:
        return call.json[self.chat_videos_field]  # type: ignore[no-any-return]

    def whole_answer(self, call: ApiCall, max_event_bytes: int) -> ReadAnswer | None:
        """How a whole answer's reply is read, or None: it is read as a stream, collected."""
        return None

    def scope(self, unique_id: object) -> str | None:
        """The `unique_id` a video method sends (whose library; None: "default"), checked now."""
        if unique_id is None:
            return None
        self._takes("unique_id", ", or leave unique_id out.")
        return check_unique_id(unique_id)

    def search_calls(
        self,
        query: object,
        video_nos: list[str] | None,
        unique_id: object,
        search_type: object,
        top_k: int | None = None,
        *,
        videos: bool = False,
    ) -> list[ApiCall]:
        """The calls of one search for `query` in `video_nos`, or (`videos`) for whole videos,
        checked now; their hits are read together."""
        scope, kind = self.scope(unique_id), check_search_type(search_type)
        if kind != DEFAULT_SEARCH_TYPE:  # v1.0's one search stands for BY_CLIP
            self._takes("search_type", ", or leave search_type out.")
        if not isinstance(query, str) or not query.strip():
            raise MaviValidationError("query is empty: pass the words to search the videos for.")
        return self._searches((query, kind, scope), video_nos, top_k, videos)

    def _searches(
        self, search: Search, video_nos: list[str] | None, top_k: int | None, videos: bool
    ) -> list[ApiCall]:
        """v1.0: searchAI (whole videos), or searchVideoFragment; the query alone is sent."""
        query = search[0]
        if videos:
            return [ApiCall("POST", "/api/serve/video/searchAI", json={"searchValue": query})]
        body = {"videoNos": normalize_video_nos(video_nos), "searchValue": query}
        return [ApiCall("POST", "/api/serve/video/searchVideoFragment", json=body)]

    def session_pager(self, unique_id: str | None) -> Pages:
        """A walk of the key's chat sessions."""
        self._takes("list_sessions()", " (v1.0 keeps no sessions: the client sends history).")
        return SessionPager(unique_id=check_unique_id(unique_id))

    def session_detail(
        self, session_id: str | int, unique_id: object = None
    ) -> tuple[ApiCall, Callable[[Any], SessionDetail]]:
        """The call restoring a session of the namespace `unique_id`, and how its reply is read."""
        self._takes("get_session_detail()", " (v1.0 keeps no sessions).")
        session = normalize_session_id(session_id)
        if session is None:
            raise MaviValidationError(
                "get_session_detail() needs the session_id of an earlier v1.2 answer, got None."
            )
        params = given(sessionId=session, unique_id=self.scope(unique_id))
        call = ApiCall("GET", "/serve/api/v1/get_session_detail", params=params)
        return call, lambda data: parse_session_detail(data, session)

    def upload_call(
        self, source: str | os.PathLike[str], callback_uri: str | None, scope: str | None
    ) -> ApiCall:
        """The upload of a URL, or of a local file (its `upload`, sent as the part `file`)."""
        source = _url_or_file(source, callback_uri)
        params = {"callBackUri": callback_uri} if callback_uri else None
        if isinstance(source, str):
            url = {"url": source}
            return ApiCall("POST", "/api/serve/video/uploadUrl", json=url, params=params)
        mime = mimetypes.guess_type(source.name)[0] or "application/octet-stream"
        upload = UploadFile(source, mime, source.stat().st_size)
        return ApiCall("POST", "/api/serve/video/upload", params=params, upload=upload)

    def delete_calls(self, video_nos: Iterable[str], unique_id: object) -> list[ApiCall]:
        """A bare JSON array of video numbers a call; `delete_batches`: method, path, most."""
        method, path, most = self.delete_batches
        params = given(unique_id=self.scope(unique_id)) or None
        parts = _batches(normalize_video_nos(video_nos), most)
        return [ApiCall(method, path, json=part, params=params) for part in parts]

    def submit_call(self, video_no: str, kind: Kind, callback_uri: str | None) -> ApiCall | None:
        """The call that starts a transcription task, or None: there is none to start (v1.2)."""
        if kind not in ("AUDIO", "VIDEO"):
            raise MaviValidationError(f"kind must be 'AUDIO' or 'VIDEO', got {kind!r}.")
        if not self.transcription_tasks:
            if callback_uri is not None:
                raise MaviValidationError(
                    "callback_uri has no v1.2 equivalent: a v1.2 transcript is read at once, "
                    "with no task to wait for. Leave callback_uri out."
                )
            return None
        _check_callback(callback_uri)
        (video,) = normalize_video_nos([video_no], name="video_no")
        body = given(videoNo=video, type=kind, callBackUri=callback_uri or None)
        return ApiCall("POST", "/api/serve/video/subTranscription", json=body)

    def transcript_call(
        self, video_no: str, kind: Kind, task_no: str, scope: str | None
    ) -> ApiCall:
        """The call that reads a transcript: its task's (v1.0), or the video's."""
        return ApiCall("GET", "/api/serve/video/getTranscription", params={"taskNo": task_no})

    def read_transcript(
        self, video_no: str, task_no: str, kind: Kind, data: object
    ) -> Transcript | None:
        """The transcript a reply (`data`) holds, or None: not yet."""
        return parse_transcription(
            data, video_no=video_no, task_no=task_no, kind=kind, v12=not self.transcription_tasks
        )


class V12Dialect(Dialect):
    """v1.2: `/serve/api/v1/...`, snake_case fields; the service holds the session, one search
    takes the videos (or the library) and `top_k`, a transcript is read at once, and every
    video call may name the end user whose library it is (`unique_id`). See docs/v1.2.md."""

    stream_decoder = V12StreamDecoder
    pager = V12VideoPager
    searches_library = True
    transcription_tasks = False
    not_ready = (
        " (MAVI answered `data: null`: no transcript yet; a video without sound never has one)"
    )
    chat_videos_field = "video_nos"
    delete_batches = ("POST", "/serve/api/v1/delete_videos", 100)
    sessions_and_namespaces = True

    def chat_call(self, *chat: Any, stream: bool) -> ApiCall:
        body = build_v12_body(*chat)  # video_nos, message, history, session_id, unique_id
        path = "/serve/api/v1/chat_stream" if stream else "/serve/api/v1/chat"
        accept = "text/event-stream" if stream else None
        return ApiCall("POST", path, json=body, accept=accept)

    def whole_answer(self, call: ApiCall, max_event_bytes: int) -> ReadAnswer | None:
        videos = self.chat_videos(call)
        return lambda reply: parse_v12_reply(reply, videos, max_event_bytes)

    def _searches(
        self, search: Search, video_nos: list[str] | None, top_k: int | None, videos: bool
    ) -> list[ApiCall]:
        """`POST /serve/api/v1/search`, the optional fields only when given, 100 of `video_nos` a
        call (None, or `videos`: the library); whole videos are read from the clips found."""
        query, kind, scope = search
        most = 200 if kind == "BY_CAPTION" else 1000
        if top_k is not None and not is_whole(top_k, 1, most):
            raise MaviValidationError(
                f"A v1.2 {kind} search returns 1 to {most} results: limit (top_k) must be a "
                f"whole number in that range, got {top_k!r}."
            )
        body = given(search_param=query, search_type=kind, top_k=top_k, unique_id=scope)
        path = "/serve/api/v1/search"
        if video_nos is None or videos:
            return [ApiCall("POST", path, json=body)]
        parts = _batches(normalize_video_nos(video_nos), V12_MAX_SEARCH_VIDEOS)
        return [ApiCall("POST", path, json={**body, "video_nos": part}) for part in parts]

    def upload_call(
        self, source: str | os.PathLike[str], callback_uri: str | None, scope: str | None
    ) -> ApiCall:
        source = _url_or_file(source, callback_uri)
        form = given(callback=callback_uri or None, unique_id=scope)  # as the docs' examples send
        if isinstance(source, str):
            return ApiCall("POST", "/serve/api/v1/upload_url", form={"url": source, **form})
        size, mime = source.stat().st_size, V12_UPLOAD_TYPES.get(source.suffix.lower())
        if mime is None:  # refused here, not by the service after the upload
            raise MaviValidationError(
                f"MAVI takes {', '.join(V12_UPLOAD_TYPES)} videos, not {source.name!r}: convert "
                "the file to one of them (e.g. MP4), or upload it from a URL."
            )
        if size == 0:
            raise MaviValidationError(f"{source.name!r} is empty: pass a video file.")
        if size > V12_MAX_UPLOAD_BYTES:
            raise MaviValidationError(
                f"{source.name!r} has {size} bytes; MAVI takes videos of at most 3 GB "
                f"({V12_MAX_UPLOAD_BYTES} bytes): cut or compress it, or upload it from a URL."
            )
        upload = UploadFile(source, mime, size)
        return ApiCall("POST", "/serve/api/v1/upload", form=form or None, upload=upload)

    def transcript_call(
        self, video_no: str, kind: Kind, task_no: str, scope: str | None
    ) -> ApiCall:
        (video,) = normalize_video_nos([video_no], name="video_no")
        path = f"/serve/api/v1/get_{kind.lower()}_transcription"  # audio or video
        return ApiCall("GET", path, params=given(video_no=video, unique_id=scope))


V10: Final = Dialect()
V12: Final = V12Dialect()
_DIALECTS: Final = {"v1.0": V10, "v1.2": V12}


def dialect_of(api_version: str) -> Dialect:
    """The dialect of a resolved `api_version` ("v1.0" or "v1.2")."""
    return _DIALECTS[api_version]
