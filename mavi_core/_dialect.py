"""The dialects of the MAVI API, v1.0 and v1.2: the call each operation sends and how its reply
is read. Pure, no I/O.

`_flow.Operations` asks the settings' dialect (`dialect_of`) for every call, reader and check
that differs between the versions, and keeps only what both share: retries, bounds, polling.
A third dialect is a third class here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Final, Literal

from ._constants import CHAT_PATH, V12_CHAT_PATH, V12_CHAT_STREAM_PATH
from ._exceptions import MaviValidationError
from ._models import ChatAnswer, SessionDetail
from ._request import ApiCall, HistoryInput, UploadFile, build_chat_body
from ._stream import ChatStreamDecoder
from ._v12 import (
    SessionPager,
    V12StreamDecoder,
    build_v12_body,
    check_unique_id,
    parse_session_detail,
    parse_v12_reply,
    session_detail_call,
)
from ._videos import (
    DEFAULT_SEARCH_TYPE,
    MAX_PAGE_SIZE,
    V12_DELETE,
    Pages,
    SearchType,
    Transcript,
    V12VideoPager,
    Video,
    VideoPager,
    check_search_type,
    delete_calls,
    parse_search_videos,
    parse_transcription,
    parse_videos,
    search_moments_call,
    search_videos_call,
    transcription_poll_call,
    transcription_submit_call,
    upload_call,
    v12_search_calls,
    v12_transcription_call,
    v12_upload_call,
)

__all__ = ["V10", "V12", "Dialect", "dialect_of"]

_USE_V12: Final = "create the client with api_version='v1.2' (or set MAVI_API_VERSION=v1.2)"

Kind = Literal["AUDIO", "VIDEO"]


class Dialect:
    """v1.0, the base: `/api/serve/video/...`, camelCase fields; the client sends the history,
    a search is two calls (videos, then their moments) and a transcription is a task."""

    name: ClassVar[str] = "v1.0"
    stream_decoder: ClassVar[type[ChatStreamDecoder]] = ChatStreamDecoder
    pager_class: ClassVar[type[VideoPager]] = VideoPager
    searches_library: ClassVar[bool] = False
    """Whether one moment search may leave `video_nos` out (the service searches the library)
    and rank its hits itself; else `find_moments` finds the videos first."""
    transcription_tasks: ClassVar[bool] = True
    """Whether a transcript is a task submitted, then polled (else it is read at once)."""
    not_ready: ClassVar[str] = ""
    """What a transcript read that timed out is told, after what it waited for."""

    # Chat.

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
            raise MaviValidationError(
                f"session_id and unique_id belong to the v1.2 chat API: {_USE_V12}. With v1.0, "
                "pass history= instead."
            )
        return ApiCall(
            "POST", CHAT_PATH, json=build_chat_body(video_nos, message, history, stream=stream)
        )

    def chat_videos(self, call: ApiCall) -> list[str]:
        """The videos a chat call asks about, as sent."""
        return call.json["videoNos"]  # type: ignore[no-any-return]

    def whole_answer(
        self, call: ApiCall, max_event_bytes: int
    ) -> Callable[[bytes], ChatAnswer] | None:
        """How a whole answer's reply is read, or None: it is read as a stream, collected."""
        return None

    # Checks of what only some dialects take.

    def scope(self, unique_id: object) -> str | None:
        """The `unique_id` a video method sends (the end user whose library it is; None: the
        service's "default"), checked now: a non-empty string, where the dialect has one."""
        if unique_id is None:
            return None
        raise MaviValidationError(
            f"unique_id belongs to the v1.2 API: {_USE_V12}, or leave unique_id out."
        )

    def search_type(self, search_type: object) -> SearchType:
        """The `search_type` a search sends, checked now (v1.0 has only its own search: the
        default, BY_CLIP, stands for it)."""
        kind = check_search_type(search_type)
        if kind != DEFAULT_SEARCH_TYPE:
            raise MaviValidationError(
                f"search_type belongs to the v1.2 API: {_USE_V12}, or leave search_type out."
            )
        return kind

    def session_pager(self, unique_id: str | None) -> Pages:
        """A walk of the key's chat sessions; v1.0 keeps none."""
        raise MaviValidationError(
            "list_sessions() belongs to the v1.2 API (v1.0 keeps no sessions: the client sends "
            f"history): {_USE_V12}."
        )

    def session_detail(
        self, session_id: str | int, scope: str | None = None
    ) -> tuple[ApiCall, Callable[[Any], SessionDetail]]:
        """The call that restores a chat session of the namespace `scope` (None: the
        default), and how its reply is read; checks the id."""
        raise MaviValidationError(
            f"get_session_detail() belongs to the v1.2 API (v1.0 keeps no sessions): {_USE_V12}."
        )

    # Videos.

    def search_videos(
        self, query: str, kind: SearchType, scope: str | None
    ) -> tuple[ApiCall, Callable[[Any], list[Video]]]:
        """The call that finds whole videos, and how its reply is read."""
        return search_videos_call(query), parse_videos

    def moment_calls(
        self,
        query: str,
        video_nos: list[str] | None,
        kind: SearchType,
        scope: str | None,
        top_k: int | None = None,
    ) -> list[ApiCall]:
        """The calls of one search for moments (their hits read together)."""
        assert video_nos is not None  # `searches_library` is False
        return [search_moments_call(query, video_nos)]

    def pager(
        self,
        status: str | None = None,
        name: str | None = None,
        start_time: Any = None,
        end_time: Any = None,
        page_size: int = MAX_PAGE_SIZE,
        unique_id: str | None = None,
    ) -> VideoPager:
        """A walk of the library's listing, filters checked now."""
        return self.pager_class(status, name, start_time, end_time, page_size, unique_id=unique_id)

    def upload_call(
        self, source: str | os.PathLike[str], callback_uri: str | None, scope: str | None
    ) -> tuple[ApiCall, UploadFile | None]:
        return upload_call(source, callback_uri)

    def delete_calls(self, video_nos: Iterable[str], scope: str | None) -> list[ApiCall]:
        return delete_calls(video_nos, scope)

    def submit_call(self, video_no: str, kind: Kind, callback_uri: str | None) -> ApiCall | None:
        """The call that starts a transcription task, or None: there is none to start."""
        return transcription_submit_call(video_no, kind, callback_uri)

    def transcript_call(
        self, video_no: str, kind: Kind, task_no: str, scope: str | None
    ) -> ApiCall:
        """The call that reads a transcript: its task's (v1.0), or the video's."""
        return transcription_poll_call(task_no)

    def read_transcript(
        self, data: object, video_no: str, task_no: str, kind: Kind
    ) -> Transcript | None:
        """The transcript a reply holds, or None: not yet."""
        return parse_transcription(
            data,
            video_no=video_no,
            task_no=task_no,
            kind=kind,
            v12=not self.transcription_tasks,
        )


class V12Dialect(Dialect):
    """v1.2: `/serve/api/v1/...`, snake_case fields; the service holds the session, one search
    takes the videos (or the library) and `top_k`, a transcript is read at once, and every
    video call may name the end user whose library it is (`unique_id`). See docs/v1.2.md."""

    name = "v1.2"
    stream_decoder = V12StreamDecoder
    pager_class = V12VideoPager
    searches_library = True
    transcription_tasks = False
    not_ready = (
        " (MAVI answered `data: null`: no transcript yet; a video without sound never has one)"
    )

    def chat_call(self, *chat: Any, stream: bool) -> ApiCall:
        body = build_v12_body(*chat)  # video_nos, message, history, session_id, unique_id
        if stream:
            return ApiCall("POST", V12_CHAT_STREAM_PATH, json=body, accept="text/event-stream")
        return ApiCall("POST", V12_CHAT_PATH, json=body)

    def chat_videos(self, call: ApiCall) -> list[str]:
        return call.json["video_nos"]  # type: ignore[no-any-return]

    def whole_answer(
        self, call: ApiCall, max_event_bytes: int
    ) -> Callable[[bytes], ChatAnswer] | None:
        videos = self.chat_videos(call)
        return lambda reply: parse_v12_reply(reply, videos, max_event_bytes)

    def scope(self, unique_id: object) -> str | None:
        return None if unique_id is None else check_unique_id(unique_id)

    def search_type(self, search_type: object) -> SearchType:
        return check_search_type(search_type)

    def session_pager(self, unique_id: str | None) -> Pages:
        return SessionPager(unique_id)

    def session_detail(
        self, session_id: str | int, scope: str | None = None
    ) -> tuple[ApiCall, Callable[[Any], SessionDetail]]:
        call = session_detail_call(session_id, scope)
        session = str(call.params["sessionId"]) if call.params else ""
        return call, lambda data: parse_session_detail(data, session)

    def search_videos(
        self, query: str, kind: SearchType, scope: str | None
    ) -> tuple[ApiCall, Callable[[Any], list[Video]]]:
        # No whole-video search in v1.2: the videos of the clips found.
        (call,) = v12_search_calls(query, search_type=kind, unique_id=scope)
        return call, parse_search_videos

    def moment_calls(
        self,
        query: str,
        video_nos: list[str] | None,
        kind: SearchType,
        scope: str | None,
        top_k: int | None = None,
    ) -> list[ApiCall]:
        return v12_search_calls(
            query, search_type=kind, top_k=top_k, video_nos=video_nos, unique_id=scope
        )

    def upload_call(
        self, source: str | os.PathLike[str], callback_uri: str | None, scope: str | None
    ) -> tuple[ApiCall, UploadFile | None]:
        return v12_upload_call(source, callback_uri, scope)

    def delete_calls(self, video_nos: Iterable[str], scope: str | None) -> list[ApiCall]:
        return delete_calls(video_nos, scope, how=V12_DELETE)

    def submit_call(self, video_no: str, kind: Kind, callback_uri: str | None) -> ApiCall | None:
        if callback_uri is not None:
            raise MaviValidationError(
                "callback_uri has no v1.2 equivalent: a v1.2 transcript is read at once, "
                "with no task to wait for. Leave callback_uri out."
            )
        return None

    def transcript_call(
        self, video_no: str, kind: Kind, task_no: str, scope: str | None
    ) -> ApiCall:
        return v12_transcription_call(video_no, kind, unique_id=scope)


V10: Final = Dialect()
V12: Final = V12Dialect()
_DIALECTS: Final = {dialect.name: dialect for dialect in (V10, V12)}


def dialect_of(api_version: str) -> Dialect:
    """The dialect of a resolved `api_version` ("v1.0" or "v1.2")."""
    return _DIALECTS[api_version]
