"""`MaviVideoChatTool`: ask MAVI about videos from inside any LangChain agent.

The tool calls a `ChatMavi` with the tool run's child callbacks and streaming on, so the answer
shows token by token in `astream_events` and in LangGraph's `messages` stream mode, nested under
the tool run. Every failure (bad arguments, MAVI errors) is a `ToolException` whose message says
what to change; `handle_tool_error=True` hands that message to the agent as the tool's result
instead of ending the run. Set `handle_tool_error=False` to have it raised.

With the v1.2 dialect the artifact also holds the moments the answer rests on (`refs`) and the
service's `session_id`. A tool call is one self-contained question, so the tool keeps no session
between calls: a tool is shared by every conversation an agent runs, and a session carried from
one call to the next would let one conversation's context leak into another's answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, NotRequired, Self, TypedDict

from langchain_core.callbacks import (
    AsyncCallbackManagerForToolRun,
    CallbackManagerForToolRun,
)
from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import ArgsSchema, BaseTool, ToolException
from langchain_core.tools.base import ToolExceptionHandlerOutput
from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.v1 import ValidationError as ValidationErrorV1

from mavi_core import MaviError
from mavi_core._adapters import ClientPair
from mavi_core._secret import given

from ._connection import MaviNamespaced, check_video_nos
from .chat_models import ChatMavi

__all__ = ["MaviVideoChatArtifact", "MaviVideoChatInput", "MaviVideoChatTool"]

_DESCRIPTION = (
    "Ask a question about one or more videos stored in MAVI (Memories.ai) and get an answer "
    "grounded in what is seen and heard in them: events, objects, people's actions, text on "
    "screen, speech, and when things happen. Input: `question`, one self-contained question in "
    "English (the tool does not see the conversation; include names and details it needs), and "
    "optionally `video_nos`, the MAVI video numbers to ask about (such as 'VI634021587219364352'); "
    "leave `video_nos` out to use the tool's default videos. Returns the answer as text."
)


class MaviVideoChatInput(BaseModel):
    """The arguments an agent passes to `mavi_video_chat`."""

    question: str = Field(
        description=(
            "One self-contained question about the videos, in English, e.g. 'What does the "
            "person in the red jacket do after entering the room?'"
        )
    )
    video_nos: list[str] | None = Field(
        default=None,
        description=(
            "MAVI video numbers (videoNo, e.g. 'VI634021587219364352') to ask about, as a list. "
            "Omit to use the tool's default videos."
        ),
    )

    @field_validator("video_nos", mode="before")
    @classmethod
    def _video_nos_from_text(cls, value: Any) -> Any:
        """Models often pass one string where a list belongs: `"VI1"` is one video, `"VI1,VI2"`
        (or a JSON array written as text) several; a blank string means the defaults."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except ValueError:
                    value = text.strip("[]")
            if isinstance(value, str):
                value = [part.strip(" '\"") for part in value.split(",")]
                value = [part for part in value if part] or None
        if value is not None and not isinstance(value, list | tuple):
            raise ValueError(
                f"video_nos must be a list of MAVI video numbers, got {given(value)}: pass "
                """e.g. ["VI634021587219364352"], or leave it out for the tool's videos."""
            )
        return value


class MaviVideoChatArtifact(TypedDict):
    """The tool's artifact: what was asked, about which videos, and the answer; with v1.2 also
    the moments it rests on and the service's session."""

    question: str
    video_nos: list[str]
    answer: str
    refs: NotRequired[list[dict[str, Any]]]
    """v1.2: `video_no, video_name, start, end, kind, text` per moment (start/end in seconds)."""
    session_id: NotRequired[str]
    """v1.2: the service's session for this one question (the tool does not continue it)."""


def _arguments_error(error: ValidationError | ValidationErrorV1) -> str:
    """What an agent reads when its arguments do not fit the schema: each wrong argument, why,
    and the shape to send instead (never the values it sent)."""
    problems = "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'arguments'}: "
        f"{str(item['msg']).removeprefix('Value error, ')}"
        for item in error.errors()
    )
    return (
        f"The arguments of mavi_video_chat were not valid ({problems}). Call it with "
        """{"question": "<one self-contained question>", "video_nos": ["<videoNo>", ...]}; """
        "video_nos is a list of MAVI video numbers and may be left out."
    )


@contextmanager
def _as_tool_exception() -> Iterator[None]:
    """Bad arguments and MAVI errors as `ToolException`s an agent can act on."""
    try:
        yield
    except MaviError as error:
        raise ToolException(f"MAVI video chat failed: {error}") from error
    except ValueError as error:
        raise ToolException(str(error)) from error


class MaviVideoChatTool(MaviNamespaced, BaseTool):
    """Ask MAVI about videos; the answer streams to callbacks while an agent runs.

    ```python
    from langchain_mavi import MaviVideoChatTool

    tool = MaviVideoChatTool(video_nos=["VI634021587219364352"])   # MAVI_API_KEY from env
    tool.invoke({"question": "What happens at the start?"})
    tool.invoke({"question": "Who speaks?", "video_nos": ["VI..."]})
    ```

    Pass `llm=ChatMavi(...)` to reuse a configured model (its videos are the last fallback).
    Tool calls return a `ToolMessage` whose content is the answer and whose artifact is
    `{"question", "video_nos", "answer"}`, plus `refs` and `session_id` with
    `api_version="v1.2"`. Each call is a new question: no session is kept between calls.
    `unique_id` (v1.2) names the namespace asked in, over the model's.
    """

    name: str = "mavi_video_chat"
    description: str = _DESCRIPTION
    args_schema: ArgsSchema | None = MaviVideoChatInput
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: bool | str | Callable[[ToolException], ToolExceptionHandlerOutput] | None = (
        True
    )
    """True: a failure's message becomes the tool result, so an agent can react to it."""
    handle_validation_error: (
        bool | str | Callable[[ValidationError | ValidationErrorV1], str] | None
    ) = _arguments_error
    """Arguments the schema rejects become a tool result saying what to pass (False: raise)."""

    video_nos: list[str] | None = None
    """Videos to ask about when a call names none."""
    llm: ChatMavi | None = Field(default=None, exclude=True, repr=False)
    """The model that answers; built from the connection fields when not given."""

    _check_video_nos = field_validator("video_nos", mode="before")(check_video_nos)

    _owns_llm: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _build_llm(self) -> Self:
        if self.llm is None:
            self.llm = ChatMavi(**self._client_options())
            self._owns_llm = True
        if (defaults := self._default_video_nos()) and self.description == _DESCRIPTION:
            self.description += f" Default videos: {', '.join(defaults)}."
        return self

    def _chat_model(self) -> ChatMavi:
        assert self.llm is not None  # set by the validator
        if self._owns_llm and self.llm._client_options() != (options := self._client_options()):
            # The connection fields changed since (model_copy(update=...), an assignment): the
            # model built from them follows, as a component's clients do.
            self.llm = self.llm.model_copy(update=options)
        return self.llm

    def _namespace_clients(self) -> ClientPair:
        # A given model's dialect decides: the tool asks through it.
        return self._clients() if self.llm is None else self.llm._clients()

    def _call(self, video_nos: list[str]) -> dict[str, Any]:
        """The model's per-call options: the videos, and the tool's namespace over the model's."""
        return {"video_nos": video_nos, "unique_id": self.unique_id, "stream": True}

    def _default_video_nos(self) -> list[str]:
        return list(self.video_nos or self._chat_model().video_nos)

    def _resolve(self, question: str, video_nos: list[str] | None) -> tuple[str, list[str]]:
        if not question or not question.strip():
            raise ToolException(
                "The question is empty: pass `question`, one self-contained question about "
                "the videos."
            )
        videos = video_nos or self._default_video_nos()
        if not videos:
            raise ToolException(
                "No video to ask about: pass `video_nos` with MAVI video numbers (such as "
                "'VI634021587219364352'), or build the tool with video_nos=[...]."
            )
        return question, list(videos)

    def _run(
        self,
        question: str,
        video_nos: list[str] | None = None,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> tuple[str, MaviVideoChatArtifact]:
        question, videos = self._resolve(question, video_nos)
        config = RunnableConfig(callbacks=run_manager.get_child() if run_manager else None)
        with _as_tool_exception():
            answer = self._chat_model().invoke(question, config, **self._call(videos))
        return _output(question, videos, answer)

    async def _arun(
        self,
        question: str,
        video_nos: list[str] | None = None,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> tuple[str, MaviVideoChatArtifact]:
        question, videos = self._resolve(question, video_nos)
        config = RunnableConfig(callbacks=run_manager.get_child() if run_manager else None)
        with _as_tool_exception():
            answer = await self._chat_model().ainvoke(question, config, **self._call(videos))
        return _output(question, videos, answer)


def _output(
    question: str, video_nos: list[str], answer: BaseMessage
) -> tuple[str, MaviVideoChatArtifact]:
    """The tool's (content, artifact): the answer, and what was asked about which videos; with
    v1.2 the refs and the session from the answer's metadata."""
    text = answer.text
    artifact = MaviVideoChatArtifact(question=question, video_nos=video_nos, answer=text)
    metadata = answer.response_metadata
    if "refs" in metadata:
        artifact["refs"] = list(metadata["refs"])
    if metadata.get("session_id"):
        artifact["session_id"] = str(metadata["session_id"])
    return text, artifact
