"""ChatMavi against a scripted MAVI on `httpx.MockTransport`: what goes over the wire, what comes
back, callbacks, stop sequences, the rate limiter, secrets and configuration.

`call(llm, how, ...)` runs one request the way a user would (invoke, ainvoke, stream, astream) so
one test specifies the sync and async twins and the streamed and whole-answer paths.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, dumps, loads
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.rate_limiters import BaseRateLimiter

import mavi_core._client
from langchain_mavi import ChatMavi, MaviVideoChatTool, MaviVideoRetriever
from mavi_core import MaviClient

CALLS = ["invoke", "ainvoke", "stream", "astream"]
PIECES = ["The harbor ", "wakes ", "at dawn."]


async def call(llm: ChatMavi, how: str, prompt: Any = "What happens?", **kwargs: Any) -> Any:
    """One request; returns the AIMessage, or for streams the list of chunks."""
    if how == "invoke":
        return llm.invoke(prompt, **kwargs)
    if how == "ainvoke":
        return await llm.ainvoke(prompt, **kwargs)
    if how == "stream":
        return list(llm.stream(prompt, **kwargs))
    return [chunk async for chunk in llm.astream(prompt, **kwargs)]


def merged(result: Any) -> BaseMessage:
    if isinstance(result, list):
        total = result[0]
        for chunk in result[1:]:
            total += chunk
        return total  # type: ignore[no-any-return]
    return result  # type: ignore[no-any-return]


class TokenRecorder(BaseCallbackHandler):
    """Records every new token and the chunk that came with it."""

    run_inline = True

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.chunks: list[Any] = []
        self.run_ids: set[UUID] = set()

    def on_llm_new_token(self, token: Any, *, chunk: Any = None, run_id: UUID, **_: Any) -> None:
        self.tokens.append(token)
        self.chunks.append(chunk)
        self.run_ids.add(run_id)


class CountingRateLimiter(BaseRateLimiter):
    def __init__(self) -> None:
        self.acquired = 0

    def acquire(self, *, blocking: bool = True) -> bool:
        self.acquired += 1
        return True

    async def aacquire(self, *, blocking: bool = True) -> bool:
        self.acquired += 1
        return True


# --- the wire -------------------------------------------------------------------------------


@pytest.mark.parametrize("how", CALLS)
async def test_a_question_sends_exactly_the_four_fields(mavi: Any, how: str) -> None:
    llm = mavi.chat_model(video_nos=["VI1", "VI2"], temperature=0.2, max_tokens=10)

    await call(llm, how, "What happens?")

    assert mavi.sent == [
        {
            "videoNos": ["VI1", "VI2"],
            "message": "What happens?",
            "history": [],
            "stream": how in ("stream", "astream"),
        }
    ]
    assert mavi.requests[0].url.path == "/api/serve/video/chat"
    assert mavi.requests[0].headers["authorization"] == mavi.key  # raw key, no "Bearer"


@pytest.mark.parametrize("how", CALLS)
async def test_per_call_video_nos_override_the_models(mavi: Any, how: str) -> None:
    llm = mavi.chat_model(video_nos=["VI1"])

    await call(llm, how, video_nos=["VI9"])

    assert mavi.sent[0]["videoNos"] == ["VI9"]


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
async def test_streaming_true_makes_invoke_stream_and_report_tokens(mavi: Any, how: str) -> None:
    llm = mavi.chat_model(streaming=True)
    tokens = TokenRecorder()

    message = await call(llm, how, config={"callbacks": [tokens]})

    assert mavi.sent[0]["stream"] is True
    assert message.text == "".join(PIECES)
    assert tokens.tokens == [*PIECES, ""]


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
async def test_stream_false_per_call_beats_streaming_true(mavi: Any, how: str) -> None:
    llm = mavi.chat_model(streaming=True)

    await call(llm, how, stream=False)

    assert mavi.sent[0]["stream"] is False


# --- outputs ------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
async def test_invoke_returns_the_answer_with_mavi_metadata(mavi: Any, how: str) -> None:
    llm = mavi.chat_model(video_nos=["VI1"])

    message = await call(llm, how)

    assert isinstance(message, AIMessage)
    assert message.content == "The harbor wakes at dawn."
    assert message.response_metadata == {
        "model_name": "mavi-video-chat",
        "model_provider": "mavi",
        "video_nos": ["VI1"],
        "finish_reason": "stop",
    }
    assert message.usage_metadata is None  # MAVI reports no usage


@pytest.mark.parametrize("how", ["stream", "astream"])
async def test_stream_yields_each_delta_then_a_last_chunk_with_metadata(
    mavi: Any, how: str
) -> None:
    llm = mavi.chat_model(video_nos=["VI1"])

    chunks = await call(llm, how)

    assert [chunk.content for chunk in chunks] == [*PIECES, ""]
    assert all(isinstance(chunk, AIMessageChunk) for chunk in chunks)
    assert [chunk.chunk_position for chunk in chunks] == [None, None, None, "last"]
    assert chunks[-1].response_metadata == {
        "model_name": "mavi-video-chat",
        "model_provider": "mavi",
        "video_nos": ["VI1"],
        "finish_reason": "stop",
    }
    assert merged(chunks).content == "The harbor wakes at dawn."


@pytest.mark.parametrize("how", ["stream", "astream"])
async def test_streamed_output_v1_merges_into_one_text_block(mavi: Any, how: str) -> None:
    llm = mavi.chat_model(output_version="v1")

    message = merged(await call(llm, how))

    assert [block["type"] for block in message.content_blocks] == ["text"]
    assert message.text == "The harbor wakes at dawn."


@pytest.mark.parametrize("how", CALLS)
async def test_per_call_model_is_reported_not_sent(mavi: Any, how: str) -> None:
    llm = mavi.chat_model()

    message = merged(await call(llm, how, model="mavi-other"))

    assert message.response_metadata["model_name"] == "mavi-other"
    assert "model" not in mavi.sent[0]
    assert llm._get_ls_params(model="mavi-other")["ls_model_name"] == "mavi-other"


def test_unknown_per_call_arguments_warn_and_are_not_sent(mavi: Any) -> None:
    with pytest.warns(UserWarning, match="ignores the argument"):
        mavi.chat_model().invoke("q", top_p=0.5)

    assert set(mavi.sent[0]) == {"videoNos", "message", "history", "stream"}


# --- callbacks and events -----------------------------------------------------------------


@pytest.mark.parametrize("how", CALLS)
async def test_callbacks_get_each_token_once_with_its_chunk(mavi: Any, how: str) -> None:
    tokens = TokenRecorder()
    llm = mavi.chat_model(callbacks=[tokens])

    await call(llm, how, stream=True) if how.endswith("invoke") else await call(llm, how)

    assert tokens.tokens == [*PIECES, ""]
    assert all(isinstance(chunk, ChatGenerationChunk) for chunk in tokens.chunks)
    assert [chunk.text for chunk in tokens.chunks] == tokens.tokens
    assert tokens.chunks[-1].message.chunk_position == "last"
    assert len(tokens.run_ids) == 1


async def test_astream_events_show_every_token(mavi: Any) -> None:
    llm = mavi.chat_model()

    events = [event async for event in llm.astream_events("q", version="v2")]

    streamed = [e["data"]["chunk"].content for e in events if e["event"] == "on_chat_model_stream"]
    assert streamed == [*PIECES, ""]
    end = next(e for e in events if e["event"] == "on_chat_model_end")
    assert end["data"]["output"].content == "The harbor wakes at dawn."


async def test_ainvoke_inside_astream_events_streams_from_mavi(mavi: Any) -> None:
    llm = mavi.chat_model()

    events = [e async for e in llm.astream_events("q", version="v2")]

    assert mavi.sent[0]["stream"] is True
    assert sum(e["event"] == "on_chat_model_stream" for e in events) == len(PIECES) + 1


# --- stop sequences -----------------------------------------------------------------------


@pytest.mark.parametrize("how", CALLS)
async def test_stop_ends_the_answer_before_the_stop_sequence(mavi: Any, how: str) -> None:
    llm = mavi.chat_model()

    message = merged(await call(llm, how, stop=["wak"]))

    assert message.content == "The harbor "
    assert message.response_metadata["finish_reason"] == "stop"
    assert message.response_metadata["stop_sequence"] == "wak"
    assert set(mavi.sent[0]) == {"videoNos", "message", "history", "stream"}


@pytest.mark.parametrize("how", ["stream", "astream"])
async def test_a_stop_hit_closes_the_stream_without_reading_the_rest(mavi: Any, how: str) -> None:
    mavi.pieces = ["one ", "two ", "STOP three ", "four ", "five ", "six "]
    llm = mavi.chat_model()

    chunks = await call(llm, how, stop=["STOP"])

    assert [chunk.content for chunk in chunks] == ["one ", "two ", ""]
    assert chunks[-1].chunk_position == "last"
    body = mavi.bodies_sent[0]
    assert body.closed
    assert body.sent < len(mavi.pieces)


@pytest.mark.parametrize("how", ["stream", "astream"])
async def test_a_possible_stop_start_is_held_back_then_released(mavi: Any, how: str) -> None:
    mavi.pieces = ["harbor E", "N", "ds"]
    llm = mavi.chat_model()

    chunks = await call(llm, how, stop=["END"])

    assert [chunk.content for chunk in chunks] == ["harbor ", "ENds", ""]


async def test_the_models_stop_applies_unless_a_call_gives_its_own(mavi: Any) -> None:
    llm = mavi.chat_model(stop=["wakes"])

    assert llm.invoke("q").content == "The harbor "
    assert llm.invoke("q", stop=["dawn"]).content == "The harbor wakes at "


# --- the rate limiter ---------------------------------------------------------------------


@pytest.mark.parametrize("how", CALLS)
async def test_the_rate_limiter_is_acquired_once_per_request(mavi: Any, how: str) -> None:
    limiter = CountingRateLimiter()
    llm = mavi.chat_model(rate_limiter=limiter)

    await call(llm, how)
    await call(llm, how)

    assert limiter.acquired == 2
    assert len(mavi.requests) == 2


async def test_the_rate_limiter_is_acquired_once_for_streaming_invoke(mavi: Any) -> None:
    limiter = CountingRateLimiter()
    llm = mavi.chat_model(rate_limiter=limiter, streaming=True)

    llm.invoke("q")
    await llm.ainvoke("q")

    assert limiter.acquired == 2


# --- configuration and secrets ------------------------------------------------------------


def test_builds_without_a_key_and_the_request_says_how_to_give_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MAVI_API_KEY", raising=False)
    llm = ChatMavi(video_nos=["VI1"], base_url="http://127.0.0.1:9")

    with pytest.raises(Exception, match="MAVI_API_KEY") as caught:
        llm.invoke("q")

    from langchain_core.exceptions import ModelAuthenticationError

    from mavi_core import MaviAuthenticationError

    assert isinstance(caught.value, MaviAuthenticationError)
    assert isinstance(caught.value, ModelAuthenticationError)


def test_key_and_base_url_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAVI_API_KEY", "sk-from-env")
    monkeypatch.setenv("MAVI_BASE_URL", "https://mavi.env")

    llm = ChatMavi(video_nos=["VI1"])

    assert llm.api_key.get_secret_value() == "sk-from-env"
    assert llm.base_url == "https://mavi.env"


def test_model_is_an_alias_of_model_name() -> None:
    assert ChatMavi(api_key="k").model_name == "mavi-video-chat"
    assert ChatMavi(api_key="k", model="mavi-x").model_name == "mavi-x"
    assert ChatMavi(api_key="k", model_name="mavi-y").model_name == "mavi-y"


def test_unknown_constructor_arguments_are_refused_not_moved_to_model_kwargs() -> None:
    # MAVI takes no extra model parameters: LangChain's model_kwargs catch-all would keep
    # `top_p` and send nothing, so it is refused when the model is built.
    with pytest.raises(TypeError, match="'top_p'"):
        ChatMavi(api_key="k", top_p=0.3)
    with pytest.raises(TypeError, match="no extra model parameters"):
        ChatMavi(api_key="k", model_kwargs={"top_p": 0.3})

    assert ChatMavi(api_key="k", model_kwargs={}).model_kwargs == {}


def test_the_profile_says_video_in_and_no_tool_calling() -> None:
    profile = ChatMavi(api_key="k").profile

    assert profile is not None
    assert profile["video_inputs"] is True
    assert profile["tool_calling"] is False
    assert profile["structured_output"] is False


def test_ls_params_describe_the_call() -> None:
    llm = ChatMavi(api_key="k", temperature=0.1, max_tokens=5, stop=["x"])

    assert llm._get_ls_params() == {
        "ls_provider": "mavi",
        "ls_model_name": "mavi-video-chat",
        "ls_model_type": "chat",
        "ls_temperature": 0.1,
        "ls_max_tokens": 5,
        "ls_stop": ["x"],
    }


def test_clients_are_built_lazily_from_the_fields_and_reused(
    mavi: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[dict[str, Any]] = []
    fake_http = mavi.clients()["client"]._http

    def build(**kwargs: Any) -> MaviClient:
        built.append(kwargs)
        return MaviClient(http_client=fake_http, **kwargs)

    monkeypatch.setattr(mavi_core._client, "MaviClient", build)
    llm = ChatMavi(
        video_nos=["VI1"],
        api_key="sk-field",
        base_url="https://mavi.test",
        timeout=12.0,
        max_retries=1,
        default_headers={"X-Team": "video"},
    )
    assert built == []

    llm.invoke("q")
    llm.invoke("q")

    assert len(built) == 1
    settings = built[0]["settings"]  # every option reaches the client through one object
    assert settings.api_key.get_secret_value() == "sk-field"
    assert settings.base_url == "https://mavi.test"
    assert settings.timeout.read == 12.0
    assert settings.max_retries == 1
    assert dict(settings.default_headers) == {"X-Team": "video"}
    assert mavi.requests[0].headers["x-team"] == "video"


def test_async_client_is_built_once_for_every_event_loop(
    mavi: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []
    fake = mavi.clients()["async_client"]

    def build(**kwargs: Any) -> object:
        built.append(kwargs)
        return fake

    monkeypatch.setattr(mavi_core._client, "AsyncMaviClient", build)
    llm = ChatMavi(video_nos=["VI1"], api_key="k")

    async def twice() -> None:
        await llm.ainvoke("q")
        await llm.ainvoke("q")

    asyncio.run(twice())
    asyncio.run(twice())  # AsyncMaviClient keeps a pool per loop: no new client needed
    assert len(built) == 1


def test_the_key_is_in_no_repr_str_or_serialized_form() -> None:
    secret = "sk-very-secret-value-42"
    llm = ChatMavi(video_nos=["VI1"], api_key=secret)

    for text in (repr(llm), str(llm), dumps(llm), dumps(llm, pretty=True), str(dumpd(llm))):
        assert secret not in text
    assert dumpd(llm)["kwargs"]["api_key"] == {"lc": 1, "type": "secret", "id": ["MAVI_API_KEY"]}


@pytest.mark.filterwarnings("ignore:The function `loads` is in beta")
def test_a_serialized_model_loads_back_with_the_key_from_secrets() -> None:
    llm = ChatMavi(video_nos=["VI1"], api_key="sk-1", model="mavi-x", stop=["END"])

    loaded = loads(
        dumps(llm),
        secrets_map={"MAVI_API_KEY": "sk-2"},
        valid_namespaces=["langchain_mavi"],
        allowed_objects=[ChatMavi],
    )

    assert isinstance(loaded, ChatMavi)
    assert loaded.api_key.get_secret_value() == "sk-2"
    assert (loaded.model_name, loaded.video_nos, loaded.stop) == ("mavi-x", ["VI1"], ["END"])


def test_the_client_fields_are_not_serialized(mavi: Any) -> None:
    llm = mavi.chat_model()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        serialized = dumpd(llm)

    assert "client" not in serialized["kwargs"]
    assert "async_client" not in serialized["kwargs"]


@pytest.mark.filterwarnings("ignore:The method `BaseChatModel._achat_model_stream_v3` is in beta")
async def test_stream_events_v3_reports_each_token_to_callbacks_once(mavi: Any) -> None:
    tokens = TokenRecorder()
    llm = mavi.chat_model()

    sync_stream = llm.stream_events("q", version="v3", config={"callbacks": [tokens]})
    list(sync_stream)
    async_stream = await llm.astream_events("q", version="v3", config={"callbacks": [tokens]})
    [event async for event in async_stream]

    assert tokens.tokens == [*PIECES, "", *PIECES, ""]
    assert sync_stream.output.text == "The harbor wakes at dawn."


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.text(alphabet="ab X", min_size=1, max_size=4), min_size=1, max_size=6),
    st.lists(st.text(alphabet="abX", min_size=1, max_size=3), max_size=2),
)
def test_property_streamed_and_whole_answers_agree_under_stop_sequences(
    new_mavi: Any, pieces: list[str], stop: list[str]
) -> None:
    mavi = new_mavi(pieces=pieces)
    llm = mavi.chat_model()

    whole = llm.invoke("q", stop=stop)
    streamed = merged(list(llm.stream("q", stop=stop)))

    assert streamed.text == whole.text
    assert streamed.response_metadata.get("stop_sequence") == whole.response_metadata.get(
        "stop_sequence"
    )


@pytest.mark.parametrize("component", [ChatMavi, MaviVideoChatTool, MaviVideoRetriever])
def test_a_single_video_number_is_explained_like_everywhere_else(component: Any) -> None:
    with pytest.raises(ValueError, match=r"not a single string; write video_nos=\['VI1'\]"):
        component(api_key="k", video_nos="VI1")


@pytest.mark.parametrize("component", [ChatMavi, MaviVideoChatTool, MaviVideoRetriever])
def test_an_empty_video_number_is_named(component: Any) -> None:
    with pytest.raises(ValueError, match=r"video_nos\[1\] must be a non-empty string"):
        component(api_key="k", video_nos=["VI1", " "])


def test_video_nos_may_be_any_sequence_or_none() -> None:
    assert ChatMavi(api_key="k", video_nos=("VI1", "VI2")).video_nos == ["VI1", "VI2"]
    assert ChatMavi(api_key="k", video_nos=None).video_nos == []
    assert ChatMavi(api_key="k", video_nos=[]).video_nos == []


@pytest.mark.parametrize(
    "call",
    [
        lambda llm: llm.bind_tools([MaviVideoChatTool(api_key="k")]),
        lambda llm: llm.with_structured_output({"title": "Answer", "type": "object"}),
    ],
    ids=["bind_tools", "with_structured_output"],
)
def test_tool_calling_and_structured_output_point_to_the_tool(call: Any) -> None:
    with pytest.raises(NotImplementedError) as caught:
        call(ChatMavi(api_key="k"))

    message = str(caught.value)
    assert "MAVI has no tool calling or structured output" in message
    assert "MaviVideoChatTool" in message
