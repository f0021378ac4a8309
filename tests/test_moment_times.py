"""One rule for the time of a moment (`mavi_core._v12.moment_time`): a ref item whose time is
not a finite number of seconds from 0 within `MAX_MOMENT_SECONDS` ("NaN", 1e400, 1.7e308 s,
-5 s) is no moment, and every reader drops it alike: both clients, `ChatMavi`, `MaviLLM` (whose
citations need milliseconds: 1.7e308 s * 1000 overflowed), `MaviQueryEngine` and
`MaviChatEngine`."""

from __future__ import annotations

import json

import pytest

from tests.conformance.samples import SESSION, VIDEO, WHOLE, serving

pytestmark = pytest.mark.integration

GOOD = {"videoNo": VIDEO, "startTime": 41, "endTime": 63, "type": "visual_ts", "text": "A tug."}


def reply_citing(*items: object) -> bytes:
    data = {
        "role": "ASSISTANT",
        "content": "A red tugboat leaves the pier at 0:41.",
        "thinkings": [],
        "refs": [{"video": {"duration": "63", "video_no": VIDEO, "video_name": "harbor"},
                  "refItems": list(items)}],
        "session_id": SESSION,
    }  # fmt: skip
    envelope = {"code": "0000", "msg": "success", "data": data, "success": True, "failed": False}
    return json.dumps(envelope).encode()


ABSURD = {
    "start 1.7e308 s": {**GOOD, "startTime": 1.7e308},
    "end 1.7e308 s": {**GOOD, "endTime": 1.7e308},
    "keyframe at -1.7e308 s": {"videoNo": VIDEO, "startTime": -1.7e308, "type": "keyframe"},
    "start NaN": {**GOOD, "startTime": "NaN"},
    "end 1e400": {**GOOD, "endTime": "1e400"},
    "start -5 s": {**GOOD, "startTime": -5},
    "end -3 s": {**GOOD, "endTime": "-3"},
    "keyframe at -1 s": {"videoNo": VIDEO, "startTime": "-1", "type": "keyframe"},
}


@pytest.mark.parametrize("reader", WHOLE, ids=str)
@pytest.mark.parametrize("absurd", ABSURD.values(), ids=ABSURD.keys())
def test_a_moment_at_an_absurd_time_is_dropped_by_every_reader(absurd: object, reader: str) -> None:
    with serving(reply_citing(absurd, GOOD)) as server:
        reading = WHOLE[reader](server.base_url)
    assert reading.moments == ((VIDEO, 41.0, 63.0),)
    assert reading.text == "A red tugboat leaves the pier at 0:41."
