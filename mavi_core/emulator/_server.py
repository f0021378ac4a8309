"""MaviEmulator: the app served by uvicorn in a background thread, plus its test controls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote

import uvicorn

from ._app import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_RATE_LIMITS,
    Abort,
    EmulatorApp,
    Settings,
)
from ._auth import DEFAULT_API_KEY, DEFAULT_AUTH_CODE, DEFAULT_CLIENT_ID, TokenStore
from ._faults import API_VERSIONS, Faults
from ._library import Library, load_samples
from ._log import (
    DEFAULT_LOG_BODY_BYTES,
    DEFAULT_LOG_SIZE,
    RecordedRequest,
    RequestLines,
    RequestLog,
    print_line,
)
from ._sessions import SessionStore

__all__ = ["DEFAULT_API_KEY", "DEFAULT_AUTH_CODE", "DEFAULT_CLIENT_ID", "MaviEmulator"]
_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0
_filter_lock = threading.Lock()
_filter_installed = False


class _DeliberateAbortFilter(logging.Filter):
    """Hide uvicorn's traceback for connections the emulator drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], Abort))


def _install_log_filter() -> None:
    global _filter_installed
    with _filter_lock:
        if not _filter_installed:
            logging.getLogger("uvicorn.error").addFilter(_DeliberateAbortFilter())
            _filter_installed = True


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it every keep-alive reply waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class MaviEmulator:
    """A real MAVI-compatible HTTP server on loopback, for tests, notebooks and demos.

    Use it as a context manager (or call start() and stop()); it is ready as soon as it is
    entered. The settings below may also be changed while it runs.

    Limits that keep a long-running emulator small: a request body is read only after its key
    was accepted, and only up to ``max_body_bytes`` (8 MiB; ``max_upload_bytes``, 256 MiB, for
    uploads), beyond which the reply is HTTP 413; the request log keeps the last ``log_size``
    requests (1000) with bodies cut to ``log_body_bytes`` (8 KiB).

    ``log_requests=True`` writes one line per request to stderr once it is answered
    (``POST /api/serve/video/chat 200 12 ms``; ``--log`` on the command line); a callable
    receives each line instead.

    ``fragment_scores=True`` adds a ``score`` to moment search results, which the live service
    does not send. ``transcript_millis=True`` sends transcription times in milliseconds
    instead of the documented seconds, as some live replies were read. ``auth_code`` is a
    development authorization code that getAccessToken always accepts (None: only codes from
    authorization_code()).

    ``api_versions`` names the chat dialects served, both by default: ``"v1.0"``
    (``/api/serve/video/chat``) and ``"v1.2"`` (``/serve/api/v1/chat`` and
    ``/serve/api/v1/chat_stream``, with server-held sessions); a dialect left out answers its
    chat and video paths (v1.2: its session list too) with HTTP 404, as an unknown path. The
    token endpoints are always served.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        latency: float = 0.0,
        delta_delay: float = 0.0,
        delta_size: int = 1,
        rate_limit: int | None = 10,
        rate_limits: Mapping[str, int | None] | None = None,
        rate_window: float = 60.0,
        parse_delay: float = 1.0,
        token_ttl: float = 7200.0,
        answer_words: int | None = None,
        fragment_scores: bool = False,
        transcript_millis: bool = False,
        auth_code: str | None = DEFAULT_AUTH_CODE,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        log_size: int = DEFAULT_LOG_SIZE,
        log_body_bytes: int = DEFAULT_LOG_BODY_BYTES,
        api_versions: Iterable[str] = API_VERSIONS,
        log_requests: bool | Callable[[str], None] = False,
    ) -> None:
        if not api_key:
            raise ValueError("api_key must be a non-empty string")
        for name, value in (("log_size", log_size), ("log_body_bytes", log_body_bytes)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        self._host = host
        self._requested_port = port
        self._port: int | None = port or None
        self._settings = Settings()
        self._tokens = TokenStore(
            api_key=api_key, client_id=DEFAULT_CLIENT_ID, token_ttl=token_ttl, auth_code=auth_code
        )
        self._log = RequestLog(log_size, log_body_bytes)
        self._library = Library(load_samples())
        self._sessions = SessionStore()
        self._faults = Faults(
            expire_tokens=self._tokens.expire_all, expire_sessions=self._sessions.clear
        )
        self._app = EmulatorApp(
            settings=self._settings,
            library=self._library,
            tokens=self._tokens,
            faults=self._faults,
            log=self._log,
            sessions=self._sessions,
        )
        self.api_versions = api_versions
        self.latency = latency
        self.delta_delay = delta_delay
        self.delta_size = delta_size
        self.rate_window = rate_window
        self.rate_limit = rate_limit
        if rate_limits is not None:
            self.rate_limits = rate_limits
        self.parse_delay = parse_delay
        self.token_ttl = token_ttl
        self.answer_words = answer_words
        self.fragment_scores = fragment_scores
        self.transcript_millis = transcript_millis
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self._server: Any = None
        self._write_line = print_line if log_requests is True else log_requests or None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failure: BaseException | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Bind, start serving in a daemon thread, and return once requests are accepted."""
        if self._thread is not None:
            raise RuntimeError("this MaviEmulator is already running")
        _install_log_filter()
        sock = _listening_socket(self._host, self._requested_port)
        self._port = int(sock.getsockname()[1])
        app: Any = self._app
        if self._write_line is not None:
            app = RequestLines(app, self._write_line)
        config = uvicorn.Config(
            app,
            host=self._host,
            port=self._port,
            log_level="warning",
            log_config=None,  # leave the host application's logging alone
            lifespan="off",
            http="h11",
            ws="none",
            loop="asyncio",
            interface="asgi3",
            access_log=False,
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        self._server, self._failure = server, None
        self._thread = threading.Thread(
            target=self._serve, args=(server, sock), name=f"mavi-emulator:{self._port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the MAVI emulator failed to start: {self._failure!r}")
            time.sleep(0.002)

    def _serve(self, server: Any, sock: socket.socket) -> None:
        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._app.stopping = asyncio.Event()
            await server.serve(sockets=[sock])

        try:
            asyncio.run(serve())
        except BaseException as error:  # reported by start(); a thread must not raise
            self._failure = error
        finally:
            sock.close()

    def stop(self) -> None:
        """Stop serving; open or stalled streams are cut. Safe to call twice."""
        server, thread, loop = self._server, self._thread, self._loop
        if server is None or thread is None:
            return
        server.should_exit = True
        stopping = self._app.stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop may already be closed
                loop.call_soon_threadsafe(stopping.set)
        thread.join(_STOP_TIMEOUT)
        self._server = self._thread = self._loop = None
        self._app.stopping = None

    def __enter__(self) -> MaviEmulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._port else "not started"
        return f"<MaviEmulator {where}>"

    # -- what clients need --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, no trailing slash."""
        if not self._port:
            raise RuntimeError("the MAVI emulator has no port yet: start() it first")
        return f"http://{_url_host(self._host)}:{self._port}"

    @property
    def port(self) -> int | None:
        return self._port

    @property
    def api_key(self) -> str:
        return self._tokens.api_key

    @property
    def client_id(self) -> str:
        return self._tokens.client_id

    @property
    def video_nos(self) -> list[str]:
        """The built-in sample videos (always PARSE), in a stable order."""
        return self._library.sample_video_nos

    @property
    def video_names(self) -> dict[str, str]:
        """videoNo -> videoName for every video currently in the library."""
        return {video.video_no: video.name for video in self._library.all()}

    def media_url(self, video: str) -> str:
        """The URL at which this emulator serves a library video (by videoNo or name), to pass
        to the video-understanding models: ``<base_url>/media/<video name>``."""
        name = self.video_names.get(video, video)
        if name not in self.video_names.values():
            raise ValueError(f"no video {video!r} in the emulator's library")
        return f"{self.base_url}/media/{quote(name)}"

    @property
    def video_urls(self) -> list[str]:
        """`media_url` of each built-in sample video, in the order of `video_nos`."""
        return [self.media_url(video_no) for video_no in self.video_nos]

    @property
    def auth_code(self) -> str | None:
        """The development authorization code, accepted any number of times (None: off)."""
        return self._tokens.auth_code

    def authorization_code(self) -> str:
        """Mint a single-use code for /auth/api/token/getAccessToken, like a real callback's."""
        return self._tokens.mint_code()

    def token_flow_help(self) -> str:
        """How to get an access token from this emulator, with its client id and code."""
        return token_flow_help(self.base_url, self.client_id, self.auth_code)

    def issue_tokens(self) -> dict[str, Any]:
        """Mint an access and refresh token directly: {accessToken, refreshToken, expiresIn}."""
        issued = self._tokens.issue()
        return {
            "accessToken": issued.access_token,
            "refreshToken": issued.refresh_token,
            "expiresIn": issued.expires_in,
        }

    # -- test controls ------------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._faults

    @property
    def requests(self) -> list[RecordedRequest]:
        """The last `log_size` requests received, oldest first (a snapshot)."""
        return self._log.snapshot()

    def clear_requests(self) -> None:
        self._log.clear()

    def reset(self) -> None:
        """Clear faults, framing, the request log, rate-limit counters, v1.2 sessions, uploads
        and deletions."""
        self._faults.clear()
        self._log.clear()
        self._app.reset()
        self._library.reset()

    # -- settings (read on every request) -----------------------------------------------------

    @property
    def latency(self) -> float:
        return self._settings.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._settings.latency = _non_negative("latency", seconds)

    @property
    def delta_delay(self) -> float:
        return self._settings.delta_delay

    @delta_delay.setter
    def delta_delay(self, seconds: float) -> None:
        self._settings.delta_delay = _non_negative("delta_delay", seconds)

    @property
    def delta_size(self) -> int:
        return self._settings.delta_size

    @delta_size.setter
    def delta_size(self, words: int) -> None:
        if not isinstance(words, int) or words < 1:
            raise ValueError(f"delta_size must be an int >= 1, got {words!r}")
        self._settings.delta_size = words

    @property
    def rate_limit(self) -> int | None:
        """Chat calls per key per `rate_window` (60 s); None: no endpoint is limited."""
        limits = self._settings.rate_limits
        return None if limits is None else limits.get("chat")

    @rate_limit.setter
    def rate_limit(self, per_minute: int | None) -> None:
        if per_minute is not None and (not isinstance(per_minute, int) or per_minute < 0):
            raise ValueError(f"rate_limit must be None or an int >= 0, got {per_minute!r}")
        if not per_minute:  # 0 means off, like the CLI: every endpoint unlimited
            self._settings.rate_limits = None
            return
        self._settings.rate_limits = {
            **(self.rate_limits or DEFAULT_RATE_LIMITS),
            "chat": per_minute,
        }

    @property
    def rate_limits(self) -> dict[str, int] | None:
        """Calls per key per `rate_window`, by endpoint (chat, upload, moments, search, list,
        transcription); the service's by default. None: nothing is limited. Setting it merges
        into the current limits; an endpoint set to None is unlimited."""
        limits = self._settings.rate_limits
        return None if limits is None else dict(limits)

    @rate_limits.setter
    def rate_limits(self, limits: Mapping[str, int | None] | None) -> None:
        if limits is None:
            self._settings.rate_limits = None
            return
        merged: dict[str, int] = dict(self._settings.rate_limits or DEFAULT_RATE_LIMITS)
        for endpoint, value in limits.items():
            if endpoint not in DEFAULT_RATE_LIMITS:
                raise ValueError(
                    f"unknown endpoint {endpoint!r}: one of {sorted(DEFAULT_RATE_LIMITS)}"
                )
            if value is None:
                merged.pop(endpoint, None)
            elif not isinstance(value, int) or value < 1:
                raise ValueError(f"rate_limits[{endpoint!r}] must be None or an int >= 1")
            else:
                merged[endpoint] = value
        self._settings.rate_limits = merged

    @property
    def rate_window(self) -> float:
        """The seconds every rate limit counts over: 60, like the service; shorter scales the
        limits down to seconds (benchmarks, quick demos)."""
        return self._settings.rate_window

    @rate_window.setter
    def rate_window(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"rate_window must be > 0 seconds, got {seconds!r}")
        self._settings.rate_window = float(seconds)

    @property
    def parse_delay(self) -> float:
        return self._settings.parse_delay

    @parse_delay.setter
    def parse_delay(self, seconds: float) -> None:
        self._settings.parse_delay = _non_negative("parse_delay", seconds)

    @property
    def token_ttl(self) -> float:
        return self._tokens.token_ttl

    @token_ttl.setter
    def token_ttl(self, seconds: float) -> None:
        self._tokens.token_ttl = _non_negative("token_ttl", seconds)

    @property
    def answer_words(self) -> int | None:
        """If set, every chat answer is repeated word by word to exactly this many words."""
        return self._settings.answer_words

    @answer_words.setter
    def answer_words(self, count: int | None) -> None:
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValueError(f"answer_words must be None or an int >= 1, got {count!r}")
        self._settings.answer_words = count

    @property
    def fragment_scores(self) -> bool:
        """If True, moment search results carry a ``score`` (the live service sends none)."""
        return self._settings.fragment_scores

    @fragment_scores.setter
    def fragment_scores(self, enabled: bool) -> None:
        self._settings.fragment_scores = bool(enabled)

    @property
    def api_versions(self) -> tuple[str, ...]:
        """The dialects served (chat and video paths): ``("v1.0", "v1.2")`` unless changed."""
        return tuple(v for v in API_VERSIONS if v in self._settings.api_versions)

    @api_versions.setter
    def api_versions(self, versions: Iterable[str]) -> None:
        chosen = frozenset([versions] if isinstance(versions, str) else versions)
        unknown = sorted(chosen - set(API_VERSIONS))
        if unknown or not chosen:
            raise ValueError(
                f"api_versions must name one or more of {', '.join(API_VERSIONS)}, "
                f"got {sorted(chosen)!r}"
            )
        self._settings.api_versions = chosen

    @property
    def session_count(self) -> int:
        """How many v1.2 chat sessions the emulator holds."""
        return len(self._sessions)

    @property
    def transcript_millis(self) -> bool:
        """If True, transcription times are milliseconds (the documented unit is seconds)."""
        return self._settings.transcript_millis

    @transcript_millis.setter
    def transcript_millis(self, enabled: bool) -> None:
        self._settings.transcript_millis = bool(enabled)

    @property
    def max_body_bytes(self) -> int:
        """The largest request body read (uploads excepted); larger ones get HTTP 413."""
        return self._settings.max_body_bytes

    @max_body_bytes.setter
    def max_body_bytes(self, size: int) -> None:
        self._settings.max_body_bytes = _byte_count("max_body_bytes", size)

    @property
    def max_upload_bytes(self) -> int:
        """The largest upload body read; larger ones get HTTP 413."""
        return self._settings.max_upload_bytes

    @max_upload_bytes.setter
    def max_upload_bytes(self, size: int) -> None:
        self._settings.max_upload_bytes = _byte_count("max_upload_bytes", size)


def _byte_count(name: str, value: int) -> int:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1 (bytes), got {value!r}")
    return value


def token_flow_help(base_url: str, client_id: str, auth_code: str | None) -> str:
    """The access-token flow against an emulator, as lines for a terminal or a notebook."""
    code = auth_code or "<a code from MaviEmulator.authorization_code()>"
    reuse = (
        "the development code is accepted any number of times; "
        if auth_code
        else "the development code is off; "
    )
    return "\n".join(
        [
            f"Access tokens: POST {base_url}/auth/api/token/getAccessToken",
            f'  with {{"clientId": "{client_id}", "code": "{code}"}}',
            f"  ({reuse}MaviEmulator.authorization_code() mints single-use ones)",
            f'  Python: MaviClient(base_url="{base_url}").exchange_code("{client_id}", "{code}")',
        ]
    )


def _non_negative(name: str, value: float) -> float:
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return float(value)
