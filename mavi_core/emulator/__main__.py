"""``python -m mavi_core.emulator`` / ``mavi-emulator``: serve the MAVI emulator until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

from ._faults import (
    FAULT_SPEC_HELP,
    FRAMING_SPEC_HELP,
    apply_fault_spec,
    parse_framing_spec,
    set_framing,
)
from ._server import DEFAULT_API_KEY, MaviEmulator

_N = TypeVar("_N", int, float)

DEFAULT_PORT = 8808


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


def _rate_limit(text: str) -> int | None:
    return None if text.strip().lower() in ("0", "off", "none") else _count(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mavi-emulator",
        description="A local MAVI-compatible HTTP server (v1.0 API) with fictional sample videos.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
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
        help="chat requests per minute per key, or off",
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
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help=f"inject a fault: {FAULT_SPEC_HELP}",
    )
    parser.add_argument(
        "--framing", default=None, metavar="SPEC", help=f"chat framing: {FRAMING_SPEC_HELP}"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    emulator = MaviEmulator(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        latency=args.latency,
        delta_delay=args.delta_delay,
        delta_size=args.delta_size,
        rate_limit=args.rate_limit,
        parse_delay=args.parse_delay,
        token_ttl=args.token_ttl,
        answer_words=args.answer_words,
    )
    try:
        for spec in args.fault:
            apply_fault_spec(emulator.faults, spec)
        if args.framing is not None:
            set_framing(emulator.faults, parse_framing_spec(args.framing))
    except (ValueError, TypeError) as error:
        parser.error(str(error))

    try:
        emulator.start()
    except OSError as error:
        print(f"mavi-emulator: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
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
        "Sample videos:",
        *(f"  {video_no}  {names[video_no]}" for video_no in emulator.video_nos),
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
