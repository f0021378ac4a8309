"""The error tree: local errors (bad input, nothing sent) and remote errors (the service or the
network failed) are separate branches, and a remote error says which request failed."""

from __future__ import annotations

import httpx
import pytest

from mavi_core import (
    MaviClient,
    MaviConnectionError,
    MaviError,
    MaviInvalidRequestError,
    MaviRateLimitError,
    MaviRemoteError,
    MaviStreamError,
    MaviValidationError,
    MaviVideoError,
)

from .conftest import Api, stream_reply


def test_local_and_remote_errors_are_separate_branches() -> None:
    assert issubclass(MaviValidationError, ValueError)
    assert not issubclass(MaviValidationError, MaviRemoteError)
    assert not issubclass(MaviValidationError, MaviInvalidRequestError)
    for remote in (MaviInvalidRequestError, MaviConnectionError, MaviStreamError, MaviVideoError):
        assert issubclass(remote, MaviRemoteError)
        assert issubclass(remote, MaviError)


def test_bad_input_is_local() -> None:
    with pytest.raises(MaviValidationError) as caught:
        MaviClient("sk-key", base_url="https://t").chat([], "q")
    assert not isinstance(caught.value, MaviRemoteError)
    assert caught.value.request_url is None


def test_an_api_error_names_the_request_and_the_service_request_id(api: Api) -> None:
    envelope = {"code": "0001", "msg": "videoNos not parsed"}
    api.server.replies = [httpx.Response(200, json=envelope, headers={"x-request-id": "req-42"})]
    with pytest.raises(MaviInvalidRequestError) as caught:
        api.chat()
    error = caught.value
    assert (error.request_method, error.request_url) == (
        "POST",
        "https://mavi.test/api/serve/video/chat",
    )
    assert error.request_id == "req-42"
    assert error.msg == "videoNos not parsed"
    assert "sk-" not in (error.request_url or "")


def test_a_network_error_names_the_request(api: Api) -> None:
    api.server.replies = [httpx.ConnectError("refused")]
    with pytest.raises(MaviConnectionError) as caught:
        api.chat(max_retries=0)
    assert caught.value.request_method == "POST"
    assert caught.value.request_url == "https://mavi.test/api/serve/video/chat"


def test_a_broken_stream_keeps_the_request_id(api: Api) -> None:
    body = stream_reply(["a"], fail=httpx.RemoteProtocolError("cut"), **{"request-id": "r-7"})
    api.server.replies = [body]
    with pytest.raises(MaviStreamError) as caught:
        api.stream()
    assert caught.value.request_id == "r-7"


def test_a_rate_limit_keeps_its_attributes_through_pickling() -> None:
    import pickle

    error = MaviRateLimitError("slow", code="0429", retry_after=3.0)
    error.request_id = "r-1"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.code, copy.retry_after, copy.request_id) == ("0429", 3.0, "r-1")


def test_every_stream_error_kind_is_both_classes_and_survives_pickling() -> None:
    import pickle

    from mavi_core import (
        MaviAuthenticationError,
        MaviConflictError,
        MaviPermissionDeniedError,
        MaviServerError,
    )
    from mavi_core._exceptions import STREAM_ERRORS

    assert set(STREAM_ERRORS) == {
        MaviInvalidRequestError,
        MaviAuthenticationError,
        MaviPermissionDeniedError,
        MaviConflictError,
        MaviRateLimitError,
        MaviServerError,
    }
    for kind, stream_kind in STREAM_ERRORS.items():
        assert issubclass(stream_kind, MaviStreamError) and issubclass(stream_kind, kind)
        assert stream_kind.__name__ == kind.__name__.replace("Mavi", "MaviStream")
        error = stream_kind("cut", code="0001", msg="Video is not parsed")
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is stream_kind
        assert (copy.message, copy.code, copy.msg) == ("cut", "0001", "Video is not parsed")
