"""The ASGI application: routing, auth, validation, faults, the MAVI v1.0 endpoints and the
v1.2 chat (its wire shapes are in the package docstring).

The key is checked before the body is read, so a request without a valid key never has its
body buffered; a body is read only up to its size limit (HTTP 413 beyond it). Every request is
then recorded, delayed (latency, slow first byte), possibly replaced by an injected error, and
routed. Business errors are HTTP 200 envelopes.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from ._answers import Turn, compose_answer, search_clips, search_fragments, search_videos
from ._auth import AuthError, RateLimiter, TokenStore, bearer_value
from ._faults import (
    API_VERSIONS,
    CHAT_PATH,
    CHAT_STREAM_PATH,
    CHAT_V12_PATH,
    EVENT_STREAM,
    JSON_TYPE,
    RATE_LIMIT_MSG,
    Faults,
    StreamFault,
)
from ._library import DEFAULT_NAMESPACE, PARSE, Library, LibraryKey, Video, synthetic_video
from ._log import RecordedRequest, RequestLog, describe_body, is_truncated, masked_headers
from ._sessions import SessionStore
from ._text import repeat_to_words, split_deltas
from ._v12 import SESSION_MISSING, VIDEO_MISSING, VIDEO_NOT_PARSED, V12Answer, compose_v12
from ._vlm import (
    MEDIA_PREFIX,
    VLM_PATH,
    VlmErrored,
    VlmRefusal,
    complete,
    errored,
    media_bytes,
    parse_request,
    stream_events,
    videos_of,
)
from ._vlm import (
    reply as reply_of,
)
from ._wire import (
    SUCCESS_CODE,
    SUCCESS_MSG,
    ChatEncoder,
    V12Encoder,
    dumps,
    envelope,
    parse_multipart,
)

MAX_PAGE_SIZE = 200  # a larger pageSize is capped, as public clients send 1000
MAX_DELETE = 500
MIB = 1024 * 1024
DEFAULT_MAX_BODY_BYTES = 8 * MIB
DEFAULT_MAX_UPLOAD_BYTES = 256 * MIB
UPLOAD_PATH = "/api/serve/video/upload"
V12_UPLOAD_PATH = "/serve/api/v1/upload"
V12_UPLOAD_URL_PATH = "/serve/api/v1/upload_url"
V12_SEARCH_PATH = "/serve/api/v1/search"
V12_LIST_VIDEOS_PATH = "/serve/api/v1/list_videos"
V12_DELETE_PATH = "/serve/api/v1/delete_videos"
V12_VIDEO_TRANSCRIPTION_PATH = "/serve/api/v1/get_video_transcription"
V12_AUDIO_TRANSCRIPTION_PATH = "/serve/api/v1/get_audio_transcription"
V12_LIST_SESSIONS_PATH = "/serve/api/v1/list_sessions"
V12_SESSION_DETAIL_PATH = "/serve/api/v1/get_session_detail"
_MAX_SESSION_DIGITS = 40
UPLOAD_PATHS = frozenset({UPLOAD_PATH, V12_UPLOAD_PATH})
V12_MAX_DELETE = 100
V12_DEFAULT_PAGE_SIZE = 20
V12_SEARCH_TYPES = ("BY_CLIP", "BY_VIDEO", "BY_AUDIO", "BY_IMAGE", "BY_CAPTION")
V12_DEFAULT_SEARCH_TYPE = "BY_CLIP"
V12_DEFAULT_TOP_K = 10
V12_MAX_TOP_K = 1000
V12_MAX_CAPTION_TOP_K = 200
V12_MAX_SEARCH_VIDEOS = 100
V12_UPLOAD_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov")
V12_MAX_UPLOAD_BYTES = 3 * 1024**3  # the service's 3 GB
# With no delta delay, yield to the loop this often so a vanished client is noticed before
# asyncio starts warning about writes to a dead socket (it warns from the fifth).
_YIELD_EVERY = 4
_BATCH = 4  # events to a write under the v1.2 `batched` framing
V10, V12 = API_VERSIONS


class Abort(Exception):
    """Drop the connection on purpose (a fault or shutdown); uvicorn then closes the socket."""


class _Peer:
    """Whether the client is still there; uvicorn drops writes to a gone client silently."""

    gone = False


class _ChatStream(StreamingResponse):
    """A StreamingResponse that also watches for the client going away."""

    def __init__(self, content: AsyncIterator[bytes], headers: dict[str, str], peer: _Peer) -> None:
        super().__init__(content, headers=headers)
        self.peer = peer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.create_task(self._watch(receive))
        try:
            await super().__call__(scope, receive, send)
        finally:
            watcher.cancel()

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.peer.gone = True


class Reject(Exception):
    """A business error, answered as an HTTP 200 envelope."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def _bad(msg: str) -> Reject:
    return Reject("0001", msg)


class _TooLarge(Exception):
    def __init__(self, size: int, limit: int, *, upload: bool) -> None:
        super().__init__(f"{size} > {limit}")
        self.size = size
        self.limit = limit
        self.upload = upload


def _size_text(count: int) -> str:
    return f"{count / MIB:g} MiB" if count >= MIB else f"{count} bytes"


DEFAULT_RATE_LIMITS: dict[str, int] = {
    "chat": 10,
    "upload": 10,
    "moments": 10,
    "search": 20,
    "list": 200,
    "transcription": 20,
    "chat_v12": 2,
    "upload_v12": 1,
    "search_v12": 1,
    "list_v12": 5,
    "sessions_v12": 5,
    "delete_v12": 5,
    "transcription_v12": 1,
}
"""The service's limits per key and endpoint: calls per `WINDOWS` seconds (per minute for v1.0;
v1.2 from its published table, tests/data/wire_samples/rate-limits.md), every window scaled by
`rate_window` / 60 in the emulator."""

WINDOWS: dict[str, float] = {
    "search_v12": 1.0,
    "list_v12": 1.0,
    "sessions_v12": 1.0,
    "delete_v12": 1.0,
    "transcription_v12": 1.0,
}
"""The v1.2 limits counted per second; every other one is per minute."""

LIMITED_PATHS: dict[str, str] = {
    CHAT_PATH: "chat",
    UPLOAD_PATH: "upload",
    "/api/serve/video/uploadUrl": "upload",
    "/api/serve/video/searchVideoFragment": "moments",
    "/api/serve/video/searchAI": "search",
    "/api/serve/video/searchDB": "list",
    "/api/serve/video/subTranscription": "transcription",
    "/serve/api/v1/chat": "chat_v12",
    "/serve/api/v1/chat_stream": "chat_v12",
    V12_UPLOAD_PATH: "upload_v12",
    V12_UPLOAD_URL_PATH: "upload_v12",
    V12_SEARCH_PATH: "search_v12",
    V12_LIST_VIDEOS_PATH: "list_v12",
    V12_LIST_SESSIONS_PATH: "sessions_v12",
    V12_DELETE_PATH: "delete_v12",
    V12_VIDEO_TRANSCRIPTION_PATH: "transcription_v12",
    V12_AUDIO_TRANSCRIPTION_PATH: "transcription_v12",
    V12_SESSION_DETAIL_PATH: "sessions_v12",
}


def rate_limit_msg(limit: int, endpoint: str = "chat", window: float = 60.0) -> str:
    """The 0429 message: the service's words, then how to lift the emulator's limit."""
    per = {60.0: "a minute", 1.0: "a second"}.get(window, f"per {window:g} s")
    return (
        f"{RATE_LIMIT_MSG} The emulator allows {limit} {endpoint} request"
        f"{'s' if limit != 1 else ''} {per} per key, like the service; start it with "
        "--rate-limit off, or use MaviEmulator(rate_limit=None), to lift the limit."
    )


@dataclass(slots=True)
class Settings:
    """Knobs read on every request, so they can be changed while the emulator runs."""

    latency: float = 0.0
    delta_delay: float = 0.0
    delta_size: int = 1
    rate_limits: dict[str, int] | None = None
    """Calls per `rate_window` per key and endpoint (see DEFAULT_RATE_LIMITS); None: no limit."""
    rate_window: float = 60.0
    parse_delay: float = 1.0
    answer_words: int | None = None
    fragment_scores: bool = False
    transcript_millis: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    api_versions: frozenset[str] = frozenset(API_VERSIONS)


@dataclass(slots=True)
class _ChatReply:
    """A chat reply's events: `lead` ones (not counted by stream faults), the counted
    `events`, the `epilogue` after them, and `batch` events to a write. `on_complete` runs
    once every event but the epilogue was written."""

    events: list[bytes]
    lead: list[bytes] = field(default_factory=list)
    epilogue: bytes = b""
    batch: int = 1
    on_complete: Callable[[], None] | None = None


@dataclass(frozen=True, slots=True)
class _V12Request:
    video_nos: list[str]
    prompt: str
    session_id: int | None
    where: LibraryKey
    """Whose videos and sessions: the key's owner and the ``unique_id`` named."""


@dataclass(frozen=True, slots=True)
class _Task:
    video: Video
    kind: str
    ready_at: float


Handler = Callable[[Request, bytes, str | None], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    handler: Handler
    needs_auth: bool = True
    api_version: str | None = None  # a dialect's chat and video paths: served while it is on


def _json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    all_headers = {"content-type": JSON_TYPE, **(headers or {})}
    return Response(dumps(payload).encode(), status, all_headers)


def _ok(data: Any) -> Response:
    return _json_response({"code": SUCCESS_CODE, "msg": SUCCESS_MSG, "data": data})


def _ok_flagged(data: Any) -> Response:
    """A v1.2 success as the documentation shows it for listings, transcriptions and deletes:
    the envelope plus `success: true` and `failed: false`."""
    reply = {"code": SUCCESS_CODE, "msg": SUCCESS_MSG, "data": data, "success": True}
    return _json_response({**reply, "failed": False})


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise _bad("The request body must be JSON.") from None
    except RecursionError:
        raise _bad("The request body is JSON nested too deeply to read.") from None


def _json_object(body: bytes) -> dict[str, Any]:
    payload = _json_body(body)
    if not isinstance(payload, dict):
        raise _bad("The request body must be a JSON object.")
    return payload


def _required_str(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"{name} is required and must be a non-empty string.")
    return value


def _session_id(value: object) -> int | None:
    """A request's session id: a JSON integer or a string of digits (the service's ids are
    19 digits; a far longer one is refused before it is turned into a number)."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = value.strip()
        if len(value) <= _MAX_SESSION_DIGITS:
            return int(value)
    elif type(value) is int and 0 <= value < 10**_MAX_SESSION_DIGITS:
        return value
    raise _bad(
        "session_id must be the session_id of an earlier reply (digits, as a JSON integer or a "
        f"string of at most {_MAX_SESSION_DIGITS} digits)."
    )


def _assistant_message(answer: V12Answer, role: str) -> dict[str, Any]:
    """An answer as the service writes it in ``/chat`` and in a session's messages."""
    return {
        "role": role,
        "content": answer.content,
        "thinkings": [{"title": t.title, "content": t.content} for t in answer.thinking],
        "refs": list(answer.refs),
    }


def _namespace(fields: Mapping[str, Any]) -> str:
    """The namespace a v1.2 request names (its optional `unique_id`, the end user; JSON body,
    form or query): a string (a number is tolerated), not empty when sent, as the service asks;
    "default" when it names none."""
    unique_id = fields.get("unique_id")
    if unique_id is None:
        return DEFAULT_NAMESPACE
    if type(unique_id) not in (str, int):
        raise _bad("unique_id must be a string.")
    if not str(unique_id).strip():
        raise _bad("unique_id must not be empty: leave it out for the default namespace.")
    return str(unique_id)


def _limit(payload: dict[str, Any]) -> int | None:
    """The `limit` of searchAI / searchVideoFragment (the vendor's SDK sends it: the most results
    to return; null or absent for the default): a whole number from 1, as a number or digits."""
    value = payload.get("limit")
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _bad("limit must be a whole number from 1 (the most results to return), or null.")
    return value


def _query_int(
    request: Request, name: str, default: int | None, low: int, high: int | None = None
) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad(f"{name} must be an integer, got {raw!r}.") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f">= {low}"
        raise _bad(f"{name} must be {bounds}, got {value}.")
    return value


def _too_large(error: _TooLarge) -> Response:
    if error.upload:
        what, option, flag = "an upload", "max_upload_bytes", "--max-upload-mib"
    else:
        what, option, flag = "a request body", "max_body_bytes", "--max-body-mib"
    msg = (
        f"The request body is larger than the {_size_text(error.limit)} the emulator accepts "
        f"for {what}; send less, or raise the limit with MaviEmulator({option}=...) or {flag}."
    )
    # The rest of the body is never read, so the connection cannot carry another request.
    return _json_response(envelope("0001", msg), 413, {"connection": "close"})


class EmulatorApp:
    """One emulator's ASGI app; its state objects are shared with the MaviEmulator facade."""

    def __init__(
        self,
        *,
        settings: Settings,
        library: Library,
        tokens: TokenStore,
        faults: Faults,
        log: RequestLog,
        sessions: SessionStore,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.library = library
        self.tokens = tokens
        self.faults = faults
        self.log = log
        self.rate_limiter = RateLimiter()
        self.stopping: asyncio.Event | None = None  # set in the server loop on stop()
        self._tasks_lock = threading.Lock()
        self._tasks: dict[str, _Task] = {}
        self._routes: dict[str, _Route] = {
            "/auth/api/token/getAccessToken": _Route("POST", self._get_access_token, False),
            "/auth/api/token/refreshAccessToken": _Route("POST", self._refresh_access_token, False),
            CHAT_PATH: _Route("POST", self._chat, api_version=V10),
            CHAT_V12_PATH: _Route("POST", self._chat_v12, api_version=V12),
            CHAT_STREAM_PATH: _Route("POST", self._chat_stream_v12, api_version=V12),
            UPLOAD_PATH: _Route("POST", self._upload, api_version=V10),
            "/api/serve/video/uploadUrl": _Route("POST", self._upload_url, api_version=V10),
            "/api/serve/video/searchDB": _Route("GET", self._search_db, api_version=V10),
            "/api/serve/video/searchAI": _Route("POST", self._search_ai, api_version=V10),
            "/api/serve/video/searchVideoFragment": _Route(
                "POST", self._search_fragment, api_version=V10
            ),
            "/api/serve/video/subTranscription": _Route(
                "POST", self._sub_transcription, api_version=V10
            ),
            "/api/serve/video/getTranscription": _Route(
                "GET", self._get_transcription, api_version=V10
            ),
            "/api/serve/video/delete": _Route("DELETE", self._delete, api_version=V10),
            V12_UPLOAD_PATH: _Route("POST", self._upload_v12, api_version=V12),
            V12_UPLOAD_URL_PATH: _Route("POST", self._upload_url_v12, api_version=V12),
            V12_SEARCH_PATH: _Route("POST", self._search_v12, api_version=V12),
            V12_LIST_VIDEOS_PATH: _Route("POST", self._list_videos_v12, api_version=V12),
            V12_DELETE_PATH: _Route("POST", self._delete_v12, api_version=V12),
            V12_VIDEO_TRANSCRIPTION_PATH: _Route("GET", self._transcription_v12, api_version=V12),
            V12_AUDIO_TRANSCRIPTION_PATH: _Route("GET", self._transcription_v12, api_version=V12),
            V12_LIST_SESSIONS_PATH: _Route("GET", self._list_sessions_v12, api_version=V12),
            V12_SESSION_DETAIL_PATH: _Route("GET", self._session_detail_v12, api_version=V12),
            VLM_PATH: _Route("POST", self._vlm),
        }

    def reset(self) -> None:
        self.rate_limiter.reset()
        self.sessions.clear()
        with self._tasks_lock:
            self._tasks.clear()

    # -- ASGI entry ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            response = await self._handle(request)
            await response(scope, receive, send)
        except ClientDisconnect:
            return

    async def _handle(self, request: Request) -> Response:
        if request.url.path.startswith(MEDIA_PREFIX) and request.method in ("GET", "HEAD"):
            return self._media(request)
        route = self._routes.get(request.url.path)
        if route is not None and route.api_version not in (None, *self.settings.api_versions):
            route = None  # a dialect switched off answers like an unknown path
        credential, refusal = self._authenticate(request, route)
        body = b""
        too_large: _TooLarge | None = None
        if not refusal:  # a request without a valid key never has its body read
            try:
                body = await self._read_body(request)
            except _TooLarge as error:
                too_large = error
        self._record(request, body, read=not refusal and too_large is None)
        if too_large is not None:
            return _too_large(too_large)
        return await self._respond(request, route, body, credential, refusal)

    def _authenticate(self, request: Request, route: _Route | None) -> tuple[str | None, str]:
        """The credential, and why it was refused ("" when it was not, or none is needed)."""
        if route is None or not route.needs_auth or request.method != route.method:
            return None, ""
        credential = bearer_value(request.headers.get("authorization"))
        try:
            self.tokens.check(credential)
        except AuthError as error:
            return None, str(error)
        return credential, ""

    async def _read_body(self, request: Request) -> bytes:
        """The whole body, or _TooLarge as soon as it is known to exceed the path's limit."""
        settings = self.settings
        is_upload = request.url.path in UPLOAD_PATHS
        limit = settings.max_upload_bytes if is_upload else settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _TooLarge(int(declared), limit, upload=is_upload)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _TooLarge(size, limit, upload=is_upload)
            chunks.append(chunk)
        return b"".join(chunks)

    def _record(self, request: Request, body: bytes, *, read: bool) -> None:
        content_type = request.headers.get("content-type", "")
        limit = self.log.body_bytes
        self.log.add(
            RecordedRequest(
                method=request.method,
                path=request.url.path,
                query=dict(request.query_params),
                headers=masked_headers(request.scope["headers"]),
                body=describe_body(content_type, body, limit),
                body_size=len(body),
                truncated=is_truncated(content_type, body, limit),
                body_read=read,
            )
        )

    async def pause(self, seconds: float) -> None:
        """Sleep, but give up at once (dropping the connection) when the emulator stops."""
        if seconds <= 0:
            return
        stopping = self.stopping
        if stopping is None:
            await asyncio.sleep(seconds)
            return
        try:
            async with asyncio.timeout(seconds):
                await stopping.wait()
        except TimeoutError:
            return
        raise Abort("the emulator is stopping")

    async def _respond(
        self,
        request: Request,
        route: _Route | None,
        body: bytes,
        credential: str | None,
        refusal: str,
    ) -> Response:
        path = request.url.path
        await self.pause(self.settings.latency)
        await self.pause(self.faults.take_first_byte_delay(path))
        canned = self.faults.take_error(path)
        if canned is not None:
            # Exact content type: Starlette would append a charset to text/html.
            headers = {"content-type": canned.content_type, **dict(canned.headers)}
            return Response(canned.body, canned.status, headers)
        if route is None:
            return _json_response(envelope("0404", f"No such endpoint: {path}"), 404)
        if request.method != route.method:
            msg = f"{path} accepts {route.method}, not {request.method}."
            return _json_response(envelope("0405", msg), 405, {"allow": route.method})
        if refusal and path == VLM_PATH:  # this API answers with the HTTP status as its code
            return _json_response({"code": 401, "msg": refusal, "data": None}, 401)
        if refusal:
            return _json_response(envelope("0401", refusal))
        refused = self._over_limit(path, credential)
        if refused is not None:
            return refused
        try:
            return await route.handler(request, body, credential)
        except AuthError as error:
            return _json_response(envelope("0401", str(error)))
        except Reject as error:
            return _json_response(envelope(error.code, error.msg))

    def _over_limit(self, path: str, credential: str | None) -> Response | None:
        """The 0429 reply (HTTP 200, as the service sends it) with `Retry-After`, or None."""
        settings = self.settings
        endpoint = LIMITED_PATHS.get(path)
        limit = None if endpoint is None else (settings.rate_limits or {}).get(endpoint)
        if endpoint is None or limit is None:
            return None
        window = settings.rate_window * WINDOWS.get(endpoint, 60.0) / 60.0
        wait = self.rate_limiter.wait(credential or "", limit, window, endpoint)
        if wait is None:
            return None
        retry_after = {"retry-after": str(max(1, math.ceil(wait)))}
        return _json_response(
            envelope("0429", rate_limit_msg(limit, endpoint, window)), 200, retry_after
        )

    # -- tokens -------------------------------------------------------------------------------

    async def _get_access_token(self, request: Request, body: bytes, _: str | None) -> Response:
        payload = _json_object(body)
        client_id = _required_str(payload, "clientId")
        code = _required_str(payload, "code")
        issued = self.tokens.exchange_code(client_id, code)
        return _ok(
            {
                "accessToken": issued.access_token,
                "type": "Bearer",
                "expiresIn": issued.expires_in,
                "refreshToken": issued.refresh_token,
                "refreshExpiresIn": issued.refresh_expires_in,
            }
        )

    async def _refresh_access_token(self, request: Request, body: bytes, _: str | None) -> Response:
        payload = _json_object(body)
        access, expires_in = self.tokens.refresh(_required_str(payload, "refreshToken"))
        return _ok({"accessToken": access, "expiresIn": expires_in, "type": "Bearer"})

    # -- chat ---------------------------------------------------------------------------------

    def _parsed_videos(self, value: Any, *, field: str = "videoNos") -> list[Video]:
        if not isinstance(value, list) or not value:
            raise _bad(f"{field} is required and must be a non-empty list of video numbers.")
        videos: list[Video] = []
        for video_no in dict.fromkeys(value):
            if not isinstance(video_no, str) or not video_no:
                raise _bad(f"{field} must contain only non-empty strings, got {video_no!r}.")
            video = self.library.get(video_no)
            if video is None:
                raise _bad(f"{field}: video {video_no} does not exist.")
            status = video.status()
            if status != PARSE:
                raise _bad(f"{field}: video {video_no} is not parsed yet (status {status}).")
            videos.append(video)
        return videos

    @staticmethod
    def _parsed_history(value: Any) -> list[Turn]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise _bad("history must be a list of {user, robot} objects.")
        turns: list[Turn] = []
        for index, item in enumerate(value):
            if not (
                isinstance(item, dict)
                and isinstance(item.get("user"), str)
                and isinstance(item.get("robot"), str)
            ):
                raise _bad(f"history[{index}] must be an object with string fields user and robot.")
            turns.append(Turn(item["user"], item["robot"]))
        return turns

    def _answer_text(self, answer: str) -> str:
        words = self.settings.answer_words
        return repeat_to_words(answer, words) if words else answer

    async def _chat(self, request: Request, body: bytes, credential: str | None) -> Response:
        payload = _json_object(body)
        videos = self._parsed_videos(payload.get("videoNos"))
        message = _required_str(payload, "message")
        history = self._parsed_history(payload.get("history"))
        stream = payload.get("stream")
        if not isinstance(stream, bool):
            raise _bad("stream is required and must be a boolean (true or false).")

        answer = self._answer_text(compose_answer(videos, message, history))
        framing = self.faults.current_framing
        fault = self.faults.take_stream_fault(CHAT_PATH)
        encoder = ChatEncoder(framing)
        content_type = framing.content_type
        if framing.plain_json and not stream:
            events = [dumps(envelope(SUCCESS_CODE, SUCCESS_MSG, {"msg": answer})).encode()]
            reply = _ChatReply(events=events)
            if content_type == EVENT_STREAM:
                content_type = JSON_TYPE
        else:
            pieces = split_deltas(answer, self.settings.delta_size) if stream else [answer]
            prologue = encoder.prologue()
            reply = _ChatReply(
                lead=[prologue] if prologue else [],
                events=encoder.pieces(pieces),
                epilogue=encoder.epilogue(),
            )
        return self._chat_stream(reply, encoder, fault, content_type)

    def _chat_stream(
        self,
        reply: _ChatReply,
        encoder: ChatEncoder | V12Encoder,
        fault: StreamFault | None,
        content_type: str | None,
    ) -> Response:
        headers = {"cache-control": "no-cache"}
        if content_type is not None:
            headers["content-type"] = content_type
        peer = _Peer()
        chunks = self._chat_chunks(reply, encoder, fault, self.settings.delta_delay, peer)
        return _ChatStream(chunks, headers, peer)

    async def _chat_chunks(
        self,
        reply: _ChatReply,
        encoder: ChatEncoder | V12Encoder,
        fault: StreamFault | None,
        delay: float,
        peer: _Peer,
    ) -> AsyncIterator[bytes]:
        """The reply's events, written `reply.batch` to a write; a fault strikes after the
        `fault.deltas`-th counted event (the lead events are not counted)."""
        items = [*reply.lead, *reply.events]
        fault_at = -1 if fault is None else len(reply.lead) + min(fault.deltas, len(reply.events))
        batch: list[bytes] = []
        for index in range(len(items) + 1):
            if fault is not None and index == fault_at:
                if fault.kind == "error":
                    yield b"".join([*batch, encoder.error(fault.code, fault.msg)])
                    return
                if batch:
                    yield b"".join(batch)
                    batch = []
                if fault.kind == "disconnect":
                    raise Abort(f"disconnect_after({fault.deltas}) fault")
                await self.pause(fault.seconds)
            if index == len(items):
                break
            if not batch and index and delay > 0:
                await self.pause(delay)
            elif index % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)
            if peer.gone:
                return
            batch.append(items[index])
            if len(batch) >= reply.batch and index < len(items) - 1:
                yield b"".join(batch)
                batch = []
        if reply.on_complete is not None:
            reply.on_complete()
        # Batched, the end marker shares the last write; otherwise it is a write of its own.
        if reply.batch == 1:
            writes = [b"".join(batch), reply.epilogue]
        else:
            writes = [b"".join([*batch, reply.epilogue])]
        for write in writes:
            if write:
                yield write

    # -- video-understanding chat completions (`_vlm`) -----------------------------------------

    def _find_video(self, name: str) -> Video | None:
        for video in self.library.all():
            if name in (video.name, video.video_no) or PurePosixPath(name).stem == video.video_no:
                return video
        return None

    def _media(self, request: Request) -> Response:
        name = request.url.path[len(MEDIA_PREFIX) :]
        video = self._find_video(name)
        if video is None:
            return _json_response({"code": 404, "msg": f"No such file: {name}"}, 404)
        return Response(media_bytes(video.name), 200, {"content-type": "video/mp4"})

    async def _vlm(self, request: Request, body: bytes, _: str | None) -> Response:
        try:
            vlm = parse_request(body)
        except VlmRefusal as refusal:
            return _json_response({"code": 400, "msg": str(refusal), "data": None}, 400)
        try:
            videos = videos_of(vlm.urls, self._find_video, request.headers.get("host", ""))
        except VlmErrored as error:
            return _json_response(errored(vlm.model, error))
        completion = complete(vlm, videos)
        if not vlm.stream:
            return _json_response(reply_of(vlm, completion))
        pieces = split_deltas(completion.text, self.settings.delta_size)
        encoder = ChatEncoder(self.faults.current_framing)
        fault = self.faults.take_stream_fault(VLM_PATH)
        events = stream_events(vlm, completion, pieces)
        chat_reply = _ChatReply(events=events[:-1], epilogue=events[-1])
        return self._chat_stream(chat_reply, encoder, fault, EVENT_STREAM)

    # -- chat, v1.2 ---------------------------------------------------------------------------

    def _v12_request(self, body: bytes, credential: str | None) -> _V12Request:
        """The v1.2 body's fields; a missing or mistyped one is a 0001 envelope on both paths."""
        payload = _json_object(body)
        video_nos = payload.get("video_nos")
        if not isinstance(video_nos, list) or not video_nos:
            raise _bad("video_nos is required and must be a non-empty list of video numbers.")
        if not all(isinstance(video_no, str) and video_no for video_no in video_nos):
            raise _bad("video_nos must contain only non-empty strings.")
        prompt = _required_str(payload, "prompt")
        session_id = _session_id(payload.get("session_id"))
        where = self._library_of(credential, payload)
        return _V12Request(list(dict.fromkeys(video_nos)), prompt, session_id, where)

    def _v12_refusal(self, request: _V12Request) -> str | None:
        """Why the service would refuse this chat (a video not in the library of the key and
        `unique_id`, or unparsed; a session not theirs), in its words; None when it answers."""
        for video_no in request.video_nos:
            video = self.library.get_in(video_no, request.where)
            if video is None:
                return f"{VIDEO_MISSING}: {video_no}"
            if video.status() != PARSE:
                return VIDEO_NOT_PARSED
        session_id = request.session_id
        if session_id is not None and not self.sessions.owns(session_id, *request.where):
            return f"{SESSION_MISSING}: {session_id}"
        return None

    def _v12_answer(self, request: _V12Request) -> tuple[int, V12Answer]:
        """The session (a new one unless the request continues one) and the answer in it."""
        where = request.where
        videos = [video for no in request.video_nos if (video := self.library.get_in(no, where))]
        session_id = request.session_id
        history = None if session_id is None else self.sessions.history(session_id, *where)
        if session_id is None or history is None:
            session_id, history = self.sessions.start(request.prompt, *where), []
        answer = compose_v12(videos, request.prompt, history)
        return session_id, replace(answer, content=self._answer_text(answer.content))

    async def _chat_v12(self, request: Request, body: bytes, credential: str | None) -> Response:
        chat = self._v12_request(body, credential)
        refusal = self._v12_refusal(chat)
        if refusal is not None:
            raise _bad(refusal)
        session_id, answer = self._v12_answer(chat)
        self.sessions.add_turn(session_id, chat.prompt, answer)
        return _ok_flagged(
            {**_assistant_message(answer, "ASSISTANT"), "session_id": str(session_id)}
        )

    async def _chat_stream_v12(
        self, request: Request, body: bytes, credential: str | None
    ) -> Response:
        chat = self._v12_request(body, credential)
        framing = self.faults.current_framing_v12
        refusal = self._v12_refusal(chat)
        if refusal is not None:
            encoder = V12Encoder(framing, chat.session_id or 0)
            return self._chat_stream(
                _ChatReply(events=[encoder.error("0001", refusal)]),
                encoder,
                None,
                framing.content_type,
            )
        session_id, answer = self._v12_answer(chat)
        encoder = V12Encoder(framing, session_id)
        pieces = split_deltas(answer.content, self.settings.delta_size)
        lead = [encoder.thinking(step.title, step.content) for step in answer.thinking]
        if answer.refs:
            lead.append(encoder.ref(list(answer.refs)))
        reply = _ChatReply(
            lead=lead,
            events=[encoder.content(piece) for piece in pieces],
            epilogue=encoder.end(),
            batch=_BATCH if framing.batched else 1,
            on_complete=lambda: self.sessions.add_turn(session_id, chat.prompt, answer),
        )
        fault = self.faults.take_stream_fault(CHAT_STREAM_PATH)
        return self._chat_stream(reply, encoder, fault, framing.content_type)

    # -- upload -------------------------------------------------------------------------------

    def _register_upload(
        self, name: str, seed: bytes, callback_uri: str | None, where: LibraryKey, size: int = 0
    ) -> Response:
        ready_at = time.monotonic() + self.settings.parse_delay
        video = synthetic_video(name, seed, ready_at=ready_at, callback_uri=callback_uri)
        self.library.add(replace(video, size=size, library=where))
        summary = video.summary()
        del summary["duration"]
        return _ok(summary)

    def _library_of(self, credential: str | None, fields: Mapping[str, Any]) -> LibraryKey:
        """The library a request reads: its key's owner's, in the namespace it names."""
        return self.tokens.owner(credential), _namespace(fields)

    async def _upload(self, request: Request, body: bytes, credential: str | None) -> Response:
        where = self._library_of(credential, {})
        return self._upload_file(request, body, request.query_params.get("callBackUri"), where)

    def _upload_file(
        self,
        request: Request,
        body: bytes,
        callback_uri: str | None,
        where: LibraryKey,
        *,
        v12: bool = False,
    ) -> Response:
        """The multipart part `file` (both dialects), registered as a new video; v1.2 checks
        its type and size as the service does."""
        form = parse_multipart(request.headers.get("content-type", ""), body)
        part = None if form is None else form.get("file")
        if part is None:
            raise _bad(
                "file is required: send the video as multipart/form-data in a part named 'file'."
            )
        name = PurePosixPath((part.filename or "").replace("\\", "/")).name
        if not name:
            raise _bad("file must carry a file name.")
        if not part.data:
            raise _bad("file is empty.")
        if v12:
            _check_v12_file(name, part.content_type, len(part.data))
        return self._register_upload(name, part.data[:4096], callback_uri, where, len(part.data))

    async def _upload_url(self, request: Request, body: bytes, credential: str | None) -> Response:
        payload = _json_object(body)
        callback = request.query_params.get("callBackUri") or payload.get("callBackUri")
        return self._register_url(payload, callback, self._library_of(credential, {}))

    def _register_url(
        self, payload: dict[str, Any], callback: object, where: LibraryKey
    ) -> Response:
        """The video at `payload["url"]` (both dialects), registered as a new upload."""
        url = _required_str(payload, "url")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _bad("url must be an http or https URL.")
        name = PurePosixPath(parts.path).name or "video_from_url.mp4"
        return self._register_upload(
            name, url.encode(), callback if isinstance(callback, str) else None, where
        )

    # -- search -------------------------------------------------------------------------------

    async def _search_db(self, request: Request, body: bytes, _: str | None) -> Response:
        page = _query_int(request, "page", 1, 1) or 1
        page_size = min(MAX_PAGE_SIZE, _query_int(request, "pageSize", 20, 1) or 20)
        start_time = _query_int(request, "startTime", None, 0)
        end_time = _query_int(request, "endTime", None, 0)
        status = request.query_params.get("videoStatus") or None
        name = (request.query_params.get("videoName") or "").lower()
        now = time.monotonic()
        matching = [
            video
            for video in self.library.all()
            if (start_time is None or video.upload_time_ms >= start_time)
            and (end_time is None or video.upload_time_ms <= end_time)
            and (status is None or video.status(now) == status)
            and name in video.name.lower()
        ]
        matching.sort(key=lambda video: -video.upload_time_ms)
        shown = matching[(page - 1) * page_size : page * page_size]
        return _ok(
            {
                "page": page,
                "current": page,
                "total": len(matching),
                "pageSize": page_size,
                "videoData": [video.summary(now) for video in shown],
            }
        )

    def _parsed_ready(self) -> list[Video]:
        now = time.monotonic()
        return [video for video in self.library.all() if video.status(now) == PARSE]

    async def _search_ai(self, request: Request, body: bytes, _: str | None) -> Response:
        payload = _json_object(body)
        search_value = _required_str(payload, "searchValue")
        found = search_videos(self._parsed_ready(), search_value)[: _limit(payload)]
        return _ok({"videos": [video.summary() for video in found]})

    async def _search_fragment(self, request: Request, body: bytes, _: str | None) -> Response:
        payload = _json_object(body)
        videos = self._parsed_videos(payload.get("videoNos"))
        search_value = _required_str(payload, "searchValue")
        scored = self.settings.fragment_scores
        found = search_fragments(videos, search_value, with_score=scored, limit=_limit(payload))
        return _ok({"videos": found})

    # -- transcription ------------------------------------------------------------------------

    async def _sub_transcription(self, request: Request, body: bytes, _: str | None) -> Response:
        payload = _json_object(body)
        video_no = _required_str(payload, "videoNo")
        kind = payload.get("type")
        if kind not in ("AUDIO", "VIDEO"):
            raise _bad('type must be "AUDIO" or "VIDEO".')
        video = self.library.get(video_no)
        if video is None:
            raise _bad(f"videoNo: video {video_no} does not exist.")
        task_no = "TK" + secrets.token_hex(10)
        ready_at = max(time.monotonic(), video.ready_at) + self.settings.parse_delay
        with self._tasks_lock:
            self._tasks[task_no] = _Task(video, kind, ready_at)
        return _ok({"taskNo": task_no})

    async def _get_transcription(self, request: Request, body: bytes, _: str | None) -> Response:
        task_no = request.query_params.get("taskNo")
        if not task_no:
            raise _bad("taskNo is required.")
        with self._tasks_lock:
            task = self._tasks.get(task_no)
        if task is None:
            raise _bad(f"taskNo: task {task_no} does not exist.")
        reply: dict[str, Any] = {
            "status": "UNFINISHED",
            "type": task.kind,
            "videoNo": task.video.video_no,
            "taskNo": task_no,
            "transcriptions": [],
        }
        if time.monotonic() >= task.ready_at:
            moments = task.video.transcript if task.kind == "AUDIO" else task.video.scenes
            reply["status"] = "FINISH"
            scale = 1000 if self.settings.transcript_millis else 1
            reply["transcriptions"] = [
                {"startTime": m.start * scale, "endTime": m.end * scale, "content": m.text}
                for m in moments
            ]
        return _ok(reply)

    # -- delete -------------------------------------------------------------------------------

    async def _delete(self, request: Request, body: bytes, _: str | None) -> Response:
        return self._delete_batch(body, MAX_DELETE) or _ok(None)

    def _delete_batch(
        self, body: bytes, limit: int, where: LibraryKey | None = None
    ) -> Response | None:
        """Delete the videos of a bare JSON array of at most `limit` (both dialects; v1.2 from
        the library of `where`): None when done, the 0409 reply when one is unknown (then none
        is deleted)."""
        video_nos = _json_body(body)
        if not isinstance(video_nos, list) or not video_nos:
            raise _bad("The body must be a non-empty JSON array of video numbers.")
        if len(video_nos) > limit:
            raise _bad(f"At most {limit} videos can be deleted at once, got {len(video_nos)}.")
        if not all(isinstance(video_no, str) for video_no in video_nos):
            raise _bad("The body must contain only video number strings.")
        if where is None:
            unknown = self.library.delete(video_nos)
        else:
            unknown = self.library.delete_in(video_nos, where)
        if unknown:
            return _json_response(
                envelope("0409", f"Not found or already deleted: {', '.join(unknown)}.")
            )
        return None

    # -- the v1.2 video endpoints and session list (over the same library and sessions) --------

    async def _upload_v12(self, request: Request, body: bytes, credential: str | None) -> Response:
        form = parse_multipart(request.headers.get("content-type", ""), body) or {}
        fields = {name: part.data.decode("utf-8", "replace") for name, part in form.items()
                  if part.filename is None}  # fmt: skip
        callback_uri = fields.get("callback") or request.query_params.get("callback")
        where = self._library_of(credential, fields)
        return self._upload_file(request, body, callback_uri, where, v12=True)

    async def _upload_url_v12(
        self, request: Request, body: bytes, credential: str | None
    ) -> Response:
        """The documentation's example sends a form (`url`, `callback`); JSON is accepted too."""
        content_type = request.headers.get("content-type", "").lower()
        if content_type.startswith("application/x-www-form-urlencoded"):
            fields = parse_qs(body.decode("utf-8", "replace"))
            payload: dict[str, Any] = {name: values[-1] for name, values in fields.items()}
        else:
            payload = _json_object(body)
        where = self._library_of(credential, payload)
        callback = payload.get("callback") or request.query_params.get("callback")
        return self._register_url(payload, callback, where)

    async def _search_v12(self, request: Request, body: bytes, credential: str | None) -> Response:
        """Moment search as documented: `search_type` BY_CLIP by default (an unknown one is a
        0003), `top_k` 1 to 1000 (200 for BY_CAPTION), only `video_nos` when sent (at most 100),
        in the library of the key and `unique_id`."""
        payload = _json_object(body)
        search_param = _required_str(payload, "search_param")
        where = self._library_of(credential, payload)
        search_type = payload.get("search_type", V12_DEFAULT_SEARCH_TYPE)
        if search_type not in V12_SEARCH_TYPES:
            raise Reject(
                "0003",
                f"search_type: cannot deserialize {search_type!r}: not one of the values "
                f"accepted for the enum: [{', '.join(V12_SEARCH_TYPES)}]",
            )
        most = V12_MAX_CAPTION_TOP_K if search_type == "BY_CAPTION" else V12_MAX_TOP_K
        top_k = payload.get("top_k", V12_DEFAULT_TOP_K)
        if type(top_k) is not int or not 1 <= top_k <= most:
            raise _bad(f"top_k must be an integer from 1 to {most} for {search_type}.")
        videos = [video for video in self.library.all_in(where) if video.status() == PARSE]
        wanted = payload.get("video_nos")
        if wanted is not None:
            if not isinstance(wanted, list) or not all(isinstance(no, str) for no in wanted):
                raise _bad("video_nos must be a list of video numbers.")
            if len(wanted) > V12_MAX_SEARCH_VIDEOS:
                raise _bad(f"video_nos takes at most {V12_MAX_SEARCH_VIDEOS} videos.")
            videos = [video for video in videos if video.video_no in set(wanted)]
        if search_type == "BY_IMAGE":  # the emulator holds no images
            return _ok([])
        return _ok(search_clips(videos, search_param, top_k=top_k, search_type=search_type))

    async def _list_videos_v12(
        self, request: Request, body: bytes, credential: str | None
    ) -> Response:
        payload = _json_object(body) if body.strip() else {}
        page = _body_int(payload, "page", 1)
        size = min(MAX_PAGE_SIZE, _body_int(payload, "size", V12_DEFAULT_PAGE_SIZE))
        name = payload.get("video_name") or ""
        video_no = payload.get("video_no") or None
        status = payload.get("status") or None
        where = self._library_of(credential, payload)
        for field_name, value in (("video_name", name), ("video_no", video_no), ("status", status)):
            if value is not None and not isinstance(value, str):
                raise _bad(f"{field_name} must be a string.")
        now = time.monotonic()
        matching = [
            video
            for video in self.library.all_in(where)
            if (status is None or video.status(now) == status)
            and (video_no is None or video.video_no == video_no)
            and name.lower() in video.name.lower()
        ]
        matching.sort(key=lambda video: -video.upload_time_ms)
        shown = matching[(page - 1) * size : page * size]
        return _ok_flagged(
            {
                "videos": [_v12_video(video, now) for video in shown],
                "current_page": page,
                "page_size": size,
                "total_count": str(len(matching)),
            }
        )

    async def _delete_v12(self, request: Request, body: bytes, credential: str | None) -> Response:
        where = self._library_of(credential, request.query_params)
        return self._delete_batch(body, V12_MAX_DELETE, where) or _ok_flagged(None)

    async def _transcription_v12(
        self, request: Request, body: bytes, credential: str | None
    ) -> Response:
        """The transcript of a parsed video of the key's library; `data: null` while there is
        none: a video without sound, or a transcript not ready yet (it is made `parse_delay`
        seconds after the video was parsed)."""
        video_no = request.query_params.get("video_no")
        if not video_no:
            raise _bad("video_no is required.")
        video = self.library.get_in(video_no, self._library_of(credential, request.query_params))
        if video is None:
            raise _bad(f"{VIDEO_MISSING}: {video_no}")
        now = time.monotonic()
        if video.status(now) != PARSE:
            raise _bad(VIDEO_NOT_PARSED)
        audio = request.url.path == V12_AUDIO_TRANSCRIPTION_PATH
        moments = video.transcript if audio else video.scenes
        if not moments or (video.ready_at and now < video.ready_at + self.settings.parse_delay):
            return _ok_flagged(None)
        scale = 1000 if self.settings.transcript_millis else 1
        items = [
            {"index": index, "content": moment.text, "startTime": str(moment.start * scale),
             "endTime": str(moment.end * scale)}
            for index, moment in enumerate(moments)
        ]  # fmt: skip
        return _ok_flagged({"videoNo": video.video_no, "transcriptions": items})

    async def _session_detail_v12(
        self, request: Request, body: bytes, credential: str | None
    ) -> Response:
        session_id = _session_id(request.query_params.get("sessionId"))
        if session_id is None:
            raise _bad("sessionId is required (the session_id of an earlier reply).")
        where = self._library_of(credential, request.query_params)
        detail = self.sessions.detail(session_id, *where)
        if detail is None:
            raise _bad(f"{SESSION_MISSING}: {session_id}")
        title, turns = detail
        messages: list[dict[str, Any]] = []
        for turn in turns:
            messages.append({"role": "user", "content": turn.prompt})
            messages.append(_assistant_message(turn.answer, "assistant"))
        return _ok_flagged({"title": title, "messages": messages, "session_id": str(session_id)})

    async def _list_sessions_v12(
        self, request: Request, body: bytes, credential: str | None
    ) -> Response:
        page = _query_int(request, "page", 1, 1) or 1
        size = V12_DEFAULT_PAGE_SIZE
        sessions = self.sessions.listing(*self._library_of(credential, request.query_params))
        shown = sessions[(page - 1) * size : page * size]
        return _ok_flagged(
            {
                "sessions": [{"sessionId": str(sid), "title": title} for sid, title in shown],
                "current_page": page,
                "page_size": size,
                "total_count": str(len(sessions)),
            }
        )


_BYTES_A_SECOND = 250_000
"""The size a video that came with no bytes (a sample, a URL) is listed with."""


def _body_int(payload: dict[str, Any], name: str, default: int) -> int:
    value = payload.get(name, default)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if type(value) is not int or value < 1:
        raise _bad(f"{name} must be an integer from 1, got {value!r}.")
    return value


def _check_v12_file(name: str, content_type: str | None, size: int) -> None:
    """A v1.2 upload's file part as the service takes it: a `V12_UPLOAD_SUFFIXES` name, a
    `video/*` content type, at most 3 GB."""
    if not name.lower().endswith(V12_UPLOAD_SUFFIXES):
        raise _bad(f"file must be one of {', '.join(V12_UPLOAD_SUFFIXES)}, got {name!r}.")
    if not (content_type or "").lower().startswith("video/"):
        raise _bad(f"file's Content-Type must start with video/, got {content_type!r}.")
    if size > V12_MAX_UPLOAD_BYTES:
        raise _bad(f"file is larger than 3 GB ({size} bytes).")


def _v12_video(video: Video, now: float) -> dict[str, str]:
    """A video as v1.2 `list_videos` writes it: snake_case, every value a string."""
    return {
        "duration": str(video.duration),
        "size": str(video.size or video.duration * _BYTES_A_SECOND),
        "status": video.status(now),
        "cause": "null",
        "video_no": video.video_no,
        "video_name": video.name,
        "create_time": str(video.upload_time_ms),
    }
