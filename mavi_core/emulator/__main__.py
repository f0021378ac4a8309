"""``python -m mavi_core.emulator`` / ``mavi-emulator``: serve the MAVI emulator until Ctrl-C.

From a checkout, ``make emulator ARGS="--rate-limit off"`` passes options through.
"""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

from ._auth import DEFAULT_API_KEY, DEFAULT_AUTH_CODE, DEFAULT_CLIENT_ID
from ._extra import emulator_class
from ._faults import (
    API_VERSIONS,
    CHAT_PATH,
    CHAT_STREAM_PATH,
    CHAT_V12_PATH,
    FAULT_SPEC_HELP,
    FRAMING_SPEC_HELP,
    FRAMING_V12_SPEC_HELP,
    apply_fault_spec,
    parse_framing_spec,
    parse_framing_v12_spec,
    set_framing,
)

_N = TypeVar("_N", int, float)

DEFAULT_PORT = 8808
MIB = 1024 * 1024
TOKEN_FLOW_HELP = f"""\
access tokens (the v1.0 token flow):
  POST /auth/api/token/getAccessToken with {{"clientId": "{DEFAULT_CLIENT_ID}", "code": CODE}}
  where CODE is the development code (default {DEFAULT_AUTH_CODE!r}, see --auth-code),
  accepted any number of times; in Python, MaviEmulator().authorization_code() also mints
  single-use codes like the service's. The reply holds accessToken and refreshToken; send the
  access token in the Authorization header, renew it at /auth/api/token/refreshAccessToken.

from a checkout: make emulator ARGS="--rate-limit off --port 9000"
"""


def _at_least(convert: Callable[[str], _N], minimum: _N, what: str) -> Callable[[str], _N]:
    """An argparse type: `convert` the text, and reject values below `minimum`."""

    def parse(text: str) -> _N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what} >= {minimum}")
        return value

    return parse


_non_negative = _at_least(float, 0.0, "a number of seconds")
_positive_int = _at_least(int, 1, "an integer")
_count = _at_least(int, 0, "an integer or 'off'")
_mib = _at_least(float, 0.001, "a size in MiB")


def _port(text: str) -> int:
    port = int(text) if text.strip().lstrip("-").isdigit() else -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return port


def _rate_limit(text: str) -> int | None:
    return None if text.strip().lower() in ("0", "off", "none") else _count(text)


def _auth_code(text: str) -> str | None:
    return None if text.strip().lower() in ("", "off", "none") else text.strip()


def _chat_paths(api_versions: tuple[str, ...]) -> list[str]:
    paths = {"v1.0": [CHAT_PATH], "v1.2": [CHAT_V12_PATH, CHAT_STREAM_PATH]}
    return [f"{path} ({version})" for version in api_versions for path in paths[version]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mavi-emulator",
        description="A local MAVI-compatible HTTP server (the v1.0 API and the v1.2 chat) with "
        "fictional sample videos.",
        epilog=TOKEN_FLOW_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port, 0 for any free one (default {DEFAULT_PORT})",
    )
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the console API key to accept")
    parser.add_argument(
        "--latency", type=_non_negative, default=0.0, help="seconds before every reply"
    )
    parser.add_argument(
        "--delta-delay", type=_non_negative, default=0.0, help="seconds between streamed deltas"
    )
    parser.add_argument(
        "--delta-size", type=_positive_int, default=1, help="words per streamed delta"
    )
    parser.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default=10,
        help="v1.0 chat requests per minute per key, like the service (default 10; the other "
        "endpoints and v1.2 keep the service's published limits), or off (no endpoint limited)",
    )
    parser.add_argument(
        "--rate-window",
        type=_non_negative,
        default=60.0,
        help="seconds every limit counts over (default 60; e.g. 1 scales a minute to a second)",
    )
    parser.add_argument(
        "--parse-delay", type=_non_negative, default=1.0, help="seconds an upload stays UNPARSE"
    )
    parser.add_argument(
        "--token-ttl", type=_non_negative, default=7200.0, help="access token lifetime in seconds"
    )
    parser.add_argument(
        "--answer-words",
        type=_positive_int,
        default=None,
        help="pad every answer to this many words",
    )
    parser.add_argument(
        "--auth-code",
        type=_auth_code,
        default=DEFAULT_AUTH_CODE,
        help=f"development code getAccessToken always accepts (default {DEFAULT_AUTH_CODE}), "
        "or off",
    )
    parser.add_argument(
        "--fragment-scores",
        action="store_true",
        help="add a score to moment search results (the live service sends none)",
    )
    parser.add_argument(
        "--transcript-millis",
        action="store_true",
        help="send transcription times in milliseconds (as some live replies were read)",
    )
    parser.add_argument(
        "--max-body-mib",
        type=_mib,
        default=8.0,
        help="largest request body read, in MiB (default 8); larger ones get HTTP 413",
    )
    parser.add_argument(
        "--max-upload-mib",
        type=_mib,
        default=256.0,
        help="largest upload read, in MiB (default 256)",
    )
    parser.add_argument(
        "--log-size",
        type=_positive_int,
        default=1000,
        help="requests kept in the request log (default 1000)",
    )
    parser.add_argument(
        "--log",
        action="store_true",
        help="print one line per request on stderr: method, path, status and time",
    )
    parser.add_argument(
        "--api-version",
        choices=(*API_VERSIONS, "all"),
        default="all",
        help="the dialects to serve, their chat and video endpoints: v1.0 (/api/serve/video/...), "
        "v1.2 (/serve/api/v1/...), or all (default)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help=f"inject a fault: {FAULT_SPEC_HELP}",
    )
    parser.add_argument(
        "--framing", default=None, metavar="SPEC", help=f"chat framing: {FRAMING_SPEC_HELP}"
    )
    parser.add_argument(
        "--framing-v12",
        default=None,
        metavar="SPEC",
        help=f"v1.2 chat framing: {FRAMING_V12_SPEC_HELP}",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        emulator_type = emulator_class()
    except ImportError as error:
        print(f"mavi-emulator: {error}", file=sys.stderr)
        return 1
    emulator = emulator_type(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        latency=args.latency,
        delta_delay=args.delta_delay,
        delta_size=args.delta_size,
        rate_limit=args.rate_limit,
        rate_window=args.rate_window or 60.0,
        parse_delay=args.parse_delay,
        token_ttl=args.token_ttl,
        answer_words=args.answer_words,
        auth_code=args.auth_code,
        fragment_scores=args.fragment_scores,
        transcript_millis=args.transcript_millis,
        max_body_bytes=max(1, int(args.max_body_mib * MIB)),
        max_upload_bytes=max(1, int(args.max_upload_mib * MIB)),
        log_size=args.log_size,
        api_versions=API_VERSIONS if args.api_version == "all" else (args.api_version,),
        log_requests=args.log,
    )
    try:
        for spec in args.fault:
            apply_fault_spec(emulator.faults, spec)
        if args.framing is not None:
            set_framing(emulator.faults, parse_framing_spec(args.framing))
        if args.framing_v12 is not None:
            set_framing(emulator.faults, parse_framing_v12_spec(args.framing_v12))
    except (ValueError, TypeError) as error:
        parser.error(str(error))

    try:
        emulator.start()
    except OSError as error:
        hint = ""
        if error.errno == errno.EADDRINUSE:
            hint = (
                f"\nThe port is in use (another emulator?): pass --port {args.port + 1}, or "
                "--port 0 for any free one"
                + (f' (make emulator ARGS="--port {args.port + 1}")' if args.port else "")
                + "."
            )
        print(
            f"mavi-emulator: cannot listen on {args.host}:{args.port}: {error}{hint}",
            file=sys.stderr,
        )
        return 1

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    names = emulator.video_names
    lines = [
        f"MAVI emulator listening on {emulator.base_url}",
        f"API key:   {emulator.api_key}",
        f"Client id: {emulator.client_id}",
        f"Auth code: {emulator.auth_code or 'off (MaviEmulator.authorization_code() only)'}",
        *emulator.token_flow_help().splitlines(),
        "Sample videos:",
        *(f"  {video_no}  {names[video_no]}" for video_no in emulator.video_nos),
        f"Chat:      {', '.join(_chat_paths(emulator.api_versions))}",
        "To point the README's quickstarts here, in another terminal:",
        f"  export MAVI_API_KEY={emulator.api_key} MAVI_BASE_URL={emulator.base_url}",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
