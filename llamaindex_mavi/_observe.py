"""One MAVI chat request as LlamaIndex tracing sees an LLM call.

Both engines report each request the way LlamaIndex's own LLMs do, so callback handlers and
instrumentation integrations need nothing MAVI-specific:

- callback manager: a `CBEventType.LLM` event, with `PROMPT` / `COMPLETION` (query engine) or
  `MESSAGES` / `RESPONSE` (chat engine) payloads, or `EXCEPTION` when the request fails;
- dispatcher: `LLMCompletionStartEvent`, one `LLMCompletionInProgressEvent` per streamed delta and
  `LLMCompletionEndEvent` (the `LLMChat*` twins for the chat engine), `ExceptionEvent` on failure.

A stream's end events fire when it is exhausted (or closed early), with the text delivered.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    MessageRole,
)
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload
from llama_index.core.instrumentation.events.exception import ExceptionEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatInProgressEvent,
    LLMChatStartEvent,
    LLMCompletionEndEvent,
    LLMCompletionInProgressEvent,
    LLMCompletionStartEvent,
)
from llama_index.core.instrumentation.span import active_span_id
from llama_index_instrumentation import get_dispatcher

from mavi_core import ChatDelta

if TYPE_CHECKING:
    from mavi_core import AsyncChatStream, ChatStream

__all__ = ["MaviCall"]

dispatcher = get_dispatcher(__name__)


class MaviCall:
    """Reports one request: `starting()`, then `delta()` per piece, then `end()` or `fail()`.

    With `messages` (the chat engine) the events are the chat kind, otherwise the completion
    kind with `prompt` as the prompt. `end()` and `fail()` report once; later calls do nothing.
    """

    def __init__(
        self,
        callback_manager: CallbackManager,
        *,
        prompt: str,
        model_dict: dict[str, Any],
        additional_kwargs: dict[str, Any],
        messages: list[ChatMessage] | None = None,
    ) -> None:
        self._callback_manager = callback_manager
        self._prompt = prompt
        self._messages = messages
        self._model_dict = model_dict
        self._additional_kwargs = additional_kwargs
        self._text = ""
        self._event_id = ""
        self._span_id: str | None = None
        self._finished = False

    @property
    def text(self) -> str:
        """The answer text so far."""
        return self._text

    @contextmanager
    def starting(self) -> Iterator[None]:
        """Fire the start events, run the block (which sends the request), report its failure."""
        self._span_id = active_span_id.get()  # later stream events belong to this span
        if self._messages is not None:
            dispatcher.event(
                LLMChatStartEvent(
                    messages=self._messages,
                    additional_kwargs=self._additional_kwargs,
                    model_dict=self._model_dict,
                    span_id=self._span_id,
                )
            )
            payload: dict[str, Any] = {EventPayload.MESSAGES: self._messages}
        else:
            dispatcher.event(
                LLMCompletionStartEvent(
                    prompt=self._prompt,
                    additional_kwargs=self._additional_kwargs,
                    model_dict=self._model_dict,
                    span_id=self._span_id,
                )
            )
            payload = {EventPayload.PROMPT: self._prompt}
        self._event_id = self._callback_manager.on_event_start(
            CBEventType.LLM,
            payload={
                **payload,
                EventPayload.ADDITIONAL_KWARGS: self._additional_kwargs,
                EventPayload.SERIALIZED: self._model_dict,
            },
        )
        try:
            yield
        except Exception as error:
            self.fail(error)
            raise

    def delta(self, text: str) -> None:
        """Record one streamed piece and fire its in-progress event."""
        self._text += text
        if self._messages is not None:
            dispatcher.event(
                LLMChatInProgressEvent(
                    messages=self._messages,
                    response=self._chat_response(delta=text),
                    span_id=self._span_id,
                )
            )
        else:
            dispatcher.event(
                LLMCompletionInProgressEvent(
                    prompt=self._prompt,
                    response=CompletionResponse(text=self._text, delta=text),
                    span_id=self._span_id,
                )
            )

    def end(self, text: str | None = None) -> None:
        """Fire the end events with the whole answer (`text`, or the deltas seen so far)."""
        if self._finished:
            return
        self._finished = True
        if text is not None:
            self._text = text
        if self._messages is not None:
            chat_response = self._chat_response()
            self._callback_manager.on_event_end(
                CBEventType.LLM,
                payload={
                    EventPayload.MESSAGES: self._messages,
                    EventPayload.RESPONSE: chat_response,
                },
                event_id=self._event_id,
            )
            dispatcher.event(
                LLMChatEndEvent(
                    messages=self._messages, response=chat_response, span_id=self._span_id
                )
            )
        else:
            completion = CompletionResponse(text=self._text)
            self._callback_manager.on_event_end(
                CBEventType.LLM,
                payload={EventPayload.PROMPT: self._prompt, EventPayload.COMPLETION: completion},
                event_id=self._event_id,
            )
            dispatcher.event(
                LLMCompletionEndEvent(
                    prompt=self._prompt, response=completion, span_id=self._span_id
                )
            )

    def fail(self, error: BaseException) -> None:
        """Report the request's failure (instead of its end)."""
        if self._finished:
            return
        self._finished = True
        self._callback_manager.on_event_end(
            CBEventType.LLM, payload={EventPayload.EXCEPTION: error}, event_id=self._event_id
        )
        dispatcher.event(ExceptionEvent(exception=error, span_id=self._span_id))

    def stream(self, first: ChatDelta | None, rest: ChatStream) -> Generator[str, None, None]:
        """Yield the deltas of a started stream (`first` already read), reporting each."""
        try:
            with rest:
                if first is not None:
                    self.delta(first.text)
                    yield first.text
                for delta in rest:
                    self.delta(delta.text)
                    yield delta.text
        except Exception as error:
            self.fail(error)
            raise
        finally:
            self.end()  # also when the consumer stops early: reports what was delivered

    async def astream(
        self, first: ChatDelta | None, rest: AsyncChatStream
    ) -> AsyncGenerator[str, None]:
        """The async twin of `stream`."""
        try:
            async with rest:
                if first is not None:
                    self.delta(first.text)
                    yield first.text
                async for delta in rest:
                    self.delta(delta.text)
                    yield delta.text
        except Exception as error:
            self.fail(error)
            raise
        finally:
            self.end()

    def _chat_response(self, delta: str | None = None) -> ChatResponse:
        message = ChatMessage(role=MessageRole.ASSISTANT, content=self._text)
        return ChatResponse(message=message, delta=delta)
