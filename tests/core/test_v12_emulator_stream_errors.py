"""The emulator's v1.2 stream fails in the documented shapes (the `mavi_core.emulator`
docstring, "Errors"), and both clients read them: the text before the error delivered once, then
a typed error with the service's words. Under `error_envelopes` framing the stream ends with
{"code":"SUCCESS","data":<words>} (tests/data/wire_samples/v1.2/chat_stream_error_end.sse)."""

from __future__ import annotations

import pytest

from mavi_core import MaviInvalidRequestError, MaviStreamError
from mavi_core.emulator import MaviEmulator

from .test_v12_videos import V12Http

pytestmark = pytest.mark.integration

NOT_PARSED = "Video is not parsed:"


@pytest.fixture(params=["sync", "async"])
def v12(request: pytest.FixtureRequest, emu: MaviEmulator, sleeps: list[float]) -> V12Http:
    return V12Http(request.param, emu, sleeps)


@pytest.mark.parametrize("error_envelopes", [True, False], ids=["envelope", "bare"])
def test_an_error_after_text_is_read_with_the_text_kept(
    v12: V12Http, error_envelopes: bool
) -> None:
    v12.emu.faults.framing_v12(error_envelopes=error_envelopes)
    v12.emu.faults.error_after(2, msg=NOT_PARSED, path="/serve/api/v1/chat_stream")
    delivered: list[str] = []
    with pytest.raises(MaviStreamError) as streamed:
        v12.stream(delivered)
    assert streamed.value.msg == NOT_PARSED
    assert isinstance(streamed.value, MaviInvalidRequestError)  # "not parsed": the request
    text = "".join(delivered)
    assert text.startswith("In ")  # the two content events, delivered before the error
    assert f"after {len(text)} characters" in str(streamed.value)
    assert len(v12.emu.requests) == 1  # text arrived: never asked again


def test_an_unparsed_video_is_refused_in_the_documented_envelope(
    v12: V12Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(v12.emu, "parse_delay", 3600.0)
    fresh = v12.run(lambda c: c.upload_video("https://e.example/fresh.mp4")).video_no
    v12.emu.faults.framing_v12(error_envelopes=True)
    with pytest.raises(MaviInvalidRequestError, match="Video is not parsed"):
        v12.stream([], video_nos=[fresh])
    assert v12.emu.requests[-1].path == "/serve/api/v1/chat_stream"
