"""`make demo`: ask questions about videos end to end, on the embedded MAVI emulator.

Without MAVI_API_KEY the demo starts the local emulator (a real HTTP server on 127.0.0.1),
uploads a small sample file, waits for it to be parsed and asks about it, then asks about the
built-in sample videos through every layer: MaviClient, ChatMavi, MaviVideoChatTool inside a
LangChain agent, and MaviQueryEngine.

With MAVI_API_KEY set it talks to the service at MAVI_BASE_URL (default: the live MAVI service)
about the videos in MAVI_VIDEO_NOS (comma-separated, already parsed), asking general questions;
MAVI_DEMO_VIDEO may name a file to upload and ask about first.

Headings are bold only on a terminal, and never when NO_COLOR is set (https://no-color.org).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from llama_index.core.base.response.schema import AsyncStreamingResponse

from langchain_mavi import ChatMavi, MaviVideoChatTool
from llamaindex_mavi import MaviQueryEngine
from mavi_core import MaviClient, MaviError


@dataclass(frozen=True)
class Questions:
    """What the demo asks: a story about the emulator's samples, or general questions."""

    first: str
    follow_up: str
    agent_request: str
    agent_question: str
    engine: str
    uploaded: str = "What does the camera show?"


# The harbor video first and the kitchen video second suit these.
SAMPLE_QUESTIONS = Questions(
    first="What do the gulls do?",
    follow_up="What happens after that?",
    agent_request="Tell me about the boats in the harbor video.",
    agent_question="Which boats appear, and when?",
    engine="How does the chef dice the onion?",
)
# Questions that suit any video of the user's.
GENERAL_QUESTIONS = Questions(
    first="What happens at the start of the video?",
    follow_up="What happens after that?",
    agent_request="Tell me who or what appears in the video.",
    agent_question="Which people or objects appear, and when?",
    engine="Summarise the video in three sentences.",
)


@dataclass
class Target:
    """Where the demo sends its requests; None means: from the MAVI_* environment variables."""

    base_url: str | None
    api_key: str | None
    video_nos: list[str]
    upload: Path | None
    questions: Questions


@contextmanager
def mavi_target() -> Iterator[Target]:
    """The service named by MAVI_* if MAVI_API_KEY is set, else a fresh emulator and a file."""
    if os.environ.get("MAVI_API_KEY"):
        videos = [v.strip() for v in os.environ.get("MAVI_VIDEO_NOS", "").split(",") if v.strip()]
        if not videos:
            sys.exit("Set MAVI_VIDEO_NOS=VI...,VI... to the parsed videos to ask about.")
        upload = os.environ.get("MAVI_DEMO_VIDEO")
        yield Target(None, None, videos, Path(upload) if upload else None, GENERAL_QUESTIONS)
        return
    from mavi_core.emulator import MaviEmulator

    with MaviEmulator(parse_delay=2.0) as emulator, tempfile.TemporaryDirectory() as folder:

        def rank(video_no: str) -> int:
            name = emulator.video_names[video_no]
            return next(
                (i for i, start in enumerate(("harbor", "kitchen")) if name.startswith(start)), 2
            )

        sample = Path(folder) / "city_cycling_tour.mp4"
        sample.write_bytes(os.urandom(3 * 1024 * 1024))  # the emulator makes up its content
        print(f"Started the MAVI emulator on {emulator.base_url} (no key needed).")
        order = sorted(emulator.video_nos, key=rank)
        yield Target(emulator.base_url, emulator.api_key, order, sample, SAMPLE_QUESTIONS)


class ScriptedPlanner(BaseChatModel):
    """SCRIPTED stand-in for a tool-calling LLM (no provider key in this demo): it calls
    `mavi_video_chat` once with a fixed question, then reports what the tool answered."""

    question: str
    video_nos: list[str]

    @property
    def _llm_type(self) -> str:
        return "scripted-planner"

    def bind_tools(
        self, tools: Sequence[Any], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        if isinstance(messages[-1], ToolMessage):
            reply = AIMessage(f"According to the video: {messages[-1].content}")
        else:
            call = {"question": self.question, "video_nos": self.video_nos}
            reply = AIMessage("", tool_calls=[{"name": "mavi_video_chat", "args": call, "id": "1"}])
        return ChatResult(generations=[ChatGeneration(message=reply)])


def color_enabled(stream: TextIO) -> bool:
    """Terminal codes only on a terminal, and not when NO_COLOR is set to anything."""
    return not os.environ.get("NO_COLOR") and stream.isatty()


def heading(text: str) -> None:
    line = f"== {text}"
    if color_enabled(sys.stdout):
        line = f"\033[1m{line}\033[0m"
    print(f"\n{line}", flush=True)


def stream_answer(client: MaviClient, video_nos: list[str], question: str) -> None:
    for delta in client.stream_chat(video_nos=video_nos, message=question):
        print(delta.text, end="", flush=True)
    print()


def main() -> int:
    with mavi_target() as target:
        video = target.video_nos[:1]
        questions = target.questions
        with MaviClient(target.api_key, base_url=target.base_url) as client:
            if target.api_key is None:
                print(f"Using the MAVI service at {client.base_url}.")
            if target.upload is not None:
                name = target.upload.name
                heading(f"Upload {name}, wait until MAVI has parsed it, then ask about it")
                uploaded = client.upload_video(target.upload)  # progress bars on a tty only
                client.wait_until_parsed([uploaded.video_no], poll_interval=0.5)
                print(f"{uploaded.video_no} is ready. {questions.uploaded}")
                stream_answer(client, [uploaded.video_no], questions.uploaded)

            heading(f"MaviClient.stream_chat: {questions.first!r}")
            stream_answer(client, video, questions.first)

        heading("ChatMavi.stream, with the conversation so far as history")
        llm = ChatMavi(video_nos=video, api_key=target.api_key, base_url=target.base_url)
        conversation: list[BaseMessage] = [HumanMessage(questions.first)]
        conversation.append(AIMessage(llm.invoke(conversation).text))
        conversation.append(HumanMessage(questions.follow_up))
        for chunk in llm.stream(conversation):
            print(chunk.text, end="", flush=True)
        print()

        heading("MaviVideoChatTool inside a LangChain agent (planner: SCRIPTED, no LLM key)")
        tool = MaviVideoChatTool(api_key=target.api_key, base_url=target.base_url)
        planner = ScriptedPlanner(question=questions.agent_question, video_nos=video)
        agent = create_agent(planner, [tool])
        request = {"messages": [HumanMessage(questions.agent_request)]}
        for token, metadata in agent.stream(request, stream_mode="messages"):  # type: ignore[call-overload]
            if metadata.get("langgraph_node") == "tools" and isinstance(token, AIMessageChunk):
                print(token.text, end="", flush=True)  # the tool's answer, token by token
        print()

        heading("MaviQueryEngine (LlamaIndex), streaming with aquery")
        engine = MaviQueryEngine(
            video_nos=target.video_nos[1:2] or video,
            streaming=True,
            api_key=target.api_key,
            base_url=target.base_url,
        )

        async def ask() -> None:
            response = await engine.aquery(questions.engine)
            assert isinstance(response, AsyncStreamingResponse)
            async for delta in response.async_response_gen():
                print(delta, end="", flush=True)
            print()

        asyncio.run(ask())

    heading("Where next")
    print("- README.md: quickstarts for mavi_core, LangChain and LlamaIndex")
    print("- notebooks/: agents, routers and video RAG, runnable without a key")
    print("- make emulator: the emulator on port 8808, for curl and your own code")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except MaviError as error:
        raise SystemExit(f"MAVI error: {error}") from None
