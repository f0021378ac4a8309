"""MAVI failures reach LangChain users as classes that are both the `mavi_core` error and the
matching `langchain_core.exceptions` class, with the service's code and message kept."""

from __future__ import annotations

import pickle
from typing import Any

import httpx
import pytest
from langchain_core.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

import langchain_mavi
from langchain_mavi.errors import (
    ChatMaviAuthenticationError,
    ChatMaviConflictError,
    ChatMaviConnectionError,
    ChatMaviInvalidRequestError,
    ChatMaviPermissionDeniedError,
    ChatMaviRateLimitError,
    ChatMaviServerError,
    ChatMaviStreamError,
    ChatMaviTimeoutError,
    ChatMaviValidationError,
    translate_error,
)
from mavi_core import (
    MaviAuthenticationError,
    MaviConflictError,
    MaviConnectionError,
    MaviError,
    MaviInvalidRequestError,
    MaviPermissionDeniedError,
    MaviRateLimitError,
    MaviServerError,
    MaviStreamError,
    MaviStreamTimeoutError,
    MaviTimeoutError,
    MaviValidationError,
)

CALLS = ["invoke", "ainvoke", "stream", "astream"]


async def call(llm: Any, how: str, **kwargs: Any) -> Any:
    if how == "invoke":
        return llm.invoke("q", **kwargs)
    if how == "ainvoke":
        return await llm.ainvoke("q", **kwargs)
    if how == "stream":
        return list(llm.stream("q", **kwargs))
    return [chunk async for chunk in llm.astream("q", **kwargs)]


def envelope(code: str, msg: str) -> bytes:
    return f'{{"code": "{code}", "msg": "{msg}"}}'.encode()


# (id, HTTP status, body, adapter class, mavi_core class, langchain_core class)
REPLIES = [
    ("0001 bad parameter", 200, envelope("0001", "bad videoNos"), ChatMaviInvalidRequestError,
     MaviInvalidRequestError, ModelInvalidRequestError),
    ("0401 bad key", 200, envelope("0401", "invalid token"), ChatMaviAuthenticationError,
     MaviAuthenticationError, ModelAuthenticationError),
    ("0403 disabled", 200, envelope("0403", "account disabled"), ChatMaviPermissionDeniedError,
     MaviPermissionDeniedError, ModelPermissionDeniedError),
    ("0409 conflict", 200, envelope("0409", "duplicate"), ChatMaviConflictError,
     MaviConflictError, ModelInvalidRequestError),
    ("0429 rate limit", 200, envelope("0429", "Request has exceeded the limit."),
     ChatMaviRateLimitError, MaviRateLimitError, ModelRateLimitError),
    ("HTTP 503", 503, b"<html>503 Service Unavailable</html>", ChatMaviServerError,
     MaviServerError, ModelAPIError),
    ("unknown code", 200, envelope("0777", "strange"), ChatMaviServerError, MaviServerError,
     ModelAPIError),
]  # fmt: skip


@pytest.mark.parametrize("how", CALLS)
@pytest.mark.parametrize(
    ("status", "body", "adapter", "core", "langchain"),
    [pytest.param(*row[1:], id=row[0]) for row in REPLIES],
)
async def test_error_replies_raise_classes_of_both_libraries(
    mavi: Any, how: str, status: int, body: bytes, adapter: type, core: type, langchain: type
) -> None:
    mavi.reply_with(status, body)
    llm = mavi.chat_model()

    with pytest.raises(adapter) as caught:
        await call(llm, how)

    error = caught.value
    assert isinstance(error, MaviError)
    assert isinstance(error, core)
    assert isinstance(error, langchain)
    assert isinstance(error.__cause__, core)  # the original is chained
    assert error.status_code == status
    assert str(error) == str(error.__cause__)
    assert len(mavi.requests) == 1  # max_retries=0


@pytest.mark.parametrize("how", CALLS)
@pytest.mark.parametrize(
    ("failure", "adapter", "langchain"),
    [
        pytest.param(httpx.ConnectError("refused"), ChatMaviConnectionError, ModelConnectionError,
                     id="connection refused"),
        pytest.param(httpx.ReadTimeout("slow"), ChatMaviTimeoutError, ModelTimeoutError,
                     id="read timeout"),
    ],
)  # fmt: skip
async def test_transport_failures_raise_connection_and_timeout_errors(
    mavi: Any, how: str, failure: Exception, adapter: type, langchain: type
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure

    llm = mavi.chat_model()
    llm.client._http._transport = httpx.MockTransport(fail)
    llm.async_client._http._transport = httpx.MockTransport(fail)

    with pytest.raises(adapter) as caught:
        await call(llm, how)

    assert isinstance(caught.value, MaviConnectionError)
    assert isinstance(caught.value, langchain)


async def collect(llm: Any, how: str, into: list[str]) -> None:
    if how == "stream":
        for chunk in llm.stream("q"):
            into.append(chunk.text)
    else:
        async for chunk in llm.astream("q"):
            into.append(chunk.text)


@pytest.mark.parametrize("how", ["stream", "astream"])
async def test_an_error_after_the_first_delta_is_a_stream_error_after_the_delivered_text(
    mavi: Any, how: str
) -> None:
    mavi.reply_with(200, mavi.event("The harbor "), mavi.error_event("0500", "model failed"))
    llm = mavi.chat_model()
    received: list[str] = []

    with pytest.raises(ChatMaviStreamError) as caught:
        await collect(llm, how, received)

    assert received == ["The harbor "]
    assert isinstance(caught.value, MaviStreamError)
    assert isinstance(caught.value, ModelAPIError)
    assert caught.value.code == "0500"
    assert "model failed" in str(caught.value)


@pytest.mark.parametrize("how", CALLS)
async def test_core_validation_stays_a_value_error_and_sends_nothing(mavi: Any, how: str) -> None:
    llm = mavi.chat_model()  # a bad default list fails earlier, when the model is built

    with pytest.raises(ChatMaviValidationError, match=r"video_nos\[1\]") as caught:
        await call(llm, how, video_nos=["VI1", ""])

    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, MaviValidationError)
    assert isinstance(caught.value, ModelInvalidRequestError)
    assert mavi.requests == []


def test_the_key_is_not_in_an_authentication_error(mavi: Any) -> None:
    mavi.reply_with(200, envelope("0401", "invalid token"))

    with pytest.raises(ChatMaviAuthenticationError) as caught:
        mavi.chat_model().invoke("q")

    assert mavi.key not in str(caught.value)
    assert mavi.key not in repr(caught.value)


@pytest.mark.parametrize(
    ("original", "langchain"),
    [
        (MaviStreamTimeoutError("went silent"), ModelTimeoutError),
        (MaviTimeoutError("slow"), ModelTimeoutError),
        (MaviRateLimitError("slow down", code="0429", retry_after=3.0), ModelRateLimitError),
        (MaviError("something else"), ModelError),
    ],
)
def test_every_core_error_has_a_langchain_twin_with_the_same_details(
    original: MaviError, langchain: type
) -> None:
    twin = translate_error(original)

    assert isinstance(twin, type(original))
    assert isinstance(twin, langchain)
    assert (twin.message, twin.code, twin.retry_after) == (
        original.message,
        original.code,
        original.retry_after,
    )
    assert translate_error(twin) is twin


def test_translated_errors_survive_pickling() -> None:
    twin = translate_error(MaviRateLimitError("slow down", code="0429", retry_after=3.0))

    restored = pickle.loads(pickle.dumps(twin))

    assert type(restored) is ChatMaviRateLimitError
    assert (restored.code, restored.retry_after) == ("0429", 3.0)


def test_the_error_classes_are_exported_from_the_errors_module() -> None:
    from langchain_mavi import errors

    exported = {name for name in errors.__all__ if name.startswith("ChatMavi")}
    assert exported >= {
        "ChatMaviAPIError",
        "ChatMaviAuthenticationError",
        "ChatMaviConnectionError",
        "ChatMaviError",
        "ChatMaviInvalidRequestError",
        "ChatMaviPermissionDeniedError",
        "ChatMaviRateLimitError",
        "ChatMaviServerError",
        "ChatMaviStreamError",
        "ChatMaviTimeoutError",
        "ChatMaviValidationError",
    }
    # Out of the package's own list, yet `from langchain_mavi import ChatMavi...Error` still works.
    assert not [name for name in langchain_mavi.__all__ if name.endswith("Error")]
    assert all(getattr(langchain_mavi, name) is getattr(errors, name) for name in exported)


def test_every_langchain_error_class_is_both_a_mavi_and_a_langchain_error() -> None:
    from langchain_core.exceptions import ModelError

    from langchain_mavi import errors
    from langchain_mavi.errors import _TABLE

    for name, mavi_class, langchain_class, doc in _TABLE:
        cls = getattr(errors, name)
        assert issubclass(cls, mavi_class)
        assert issubclass(cls, langchain_class)
        assert issubclass(cls, ModelError)
        assert cls.__doc__ == doc
        assert cls.__module__ == "langchain_mavi.errors"
