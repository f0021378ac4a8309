"""`make demo`: ask questions about videos, end to end, on the embedded MAVI emulator.

Without MAVI_API_KEY the demo starts the local emulator (a real HTTP server on 127.0.0.1) and
uses its sample videos. With MAVI_API_KEY (and MAVI_VIDEO_NOS, comma-separated) it talks to the
live service instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from mavi_core import ChatTurn, MaviClient, MaviError


@contextmanager
def mavi_target() -> Iterator[tuple[str | None, str | None, list[str]]]:
    """(base_url, api_key, video_nos): the live service if configured, else the emulator."""
    if os.environ.get("MAVI_API_KEY"):
        videos = [v for v in os.environ.get("MAVI_VIDEO_NOS", "").split(",") if v]
        if not videos:
            sys.exit("Set MAVI_VIDEO_NOS=VI...,VI... to the parsed videos to ask about.")
        print("Using the live MAVI service.")
        yield None, None, videos
        return
    from mavi_core.emulator import MaviEmulator

    with MaviEmulator() as emulator:
        print(f"Started the MAVI emulator at {emulator.base_url}")
        yield emulator.base_url, emulator.api_key, emulator.video_nos


def heading(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m")


def main() -> int:
    with mavi_target() as (base_url, api_key, video_nos), MaviClient(
        api_key, base_url=base_url
    ) as client:
        video = video_nos[:1]
        question = "What happens at the start of the video?"
        heading(f"MaviClient.stream_chat: {question!r} about {video[0]}")
        answer = []
        for delta in client.stream_chat(video_nos=video, message=question):
            answer.append(delta.text)
            print(delta.text, end="", flush=True)
        print()

        follow_up = "What happens after that?"
        heading(f"MaviClient.chat with history: {follow_up!r}")
        history = [ChatTurn(user=question, robot="".join(answer))]
        print(client.chat(video_nos=video, message=follow_up, history=history).text)

    heading("Where next")
    print("README.md: quickstarts for mavi_core, LangChain (ChatMavi, MaviVideoChatTool) and")
    print("LlamaIndex (MaviQueryEngine); `make emulator` serves the emulator on port 8808.")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except MaviError as error:
        raise SystemExit(f"MAVI error: {error}") from None
