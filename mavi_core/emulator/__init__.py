"""A local MAVI-compatible HTTP server for offline development, tests and demos.

``MaviEmulator`` serves the MAVI v1.0 API (chat with real incremental streaming, upload,
search, transcription, delete, access tokens) and the v1.2 chat (server-held sessions, refs,
thinking; see "The v1.2 chat" below) on loopback from a background thread, over a
built-in library of fictional sample videos. Faults (error envelopes, HTTP errors, expired
tokens, broken or stalled streams, slow first bytes, framing variants) are programmable through
``emu.faults``, and every request is recorded (secrets masked) in ``emu.requests``::

    from mavi_core.emulator import MaviEmulator

    with MaviEmulator() as emu:
        emu.base_url, emu.api_key, emu.video_nos
        emu.faults.disconnect_after(3)

From a terminal, ``python -m mavi_core.emulator`` (or ``mavi-emulator``; from a checkout,
``make emulator ARGS="--rate-limit off"``) serves on port 8808; this streams an answer event by
event::

    curl -N http://127.0.0.1:8808/api/serve/video/chat \\
      -H 'Authorization: sk-mavi-emulator' \\
      -H 'Content-Type: application/json' \\
      -d '{"videoNos": ["VI634021601844219905"], "stream": true, "history": [],
           "message": "How does the chef dice the onion?"}'

The searches take the fields public clients send: ``searchAI`` ``{"searchValue", "limit"?}``
and ``searchVideoFragment`` ``{"videoNos", "searchValue", "limit"?}``, where ``limit`` (sent by
the vendor's SDK; null or absent for the default, 10 moments) caps the results, best first.

Like the service, every endpoint is limited per key (v1.0: chat 10 calls a minute, uploads 10,
moment searches 10, whole-video searches 20, listings 200, transcriptions 20; v1.2: chat 2 a
minute, and the rest of its table below; answered ``0429`` with a ``Retry-After`` header);
``rate_limits={...}`` sets single endpoints, ``rate_window=1.0`` counts each minute as a second,
and ``--rate-limit off`` or ``MaviEmulator(rate_limit=None)`` lifts them all.

Access tokens (the v1.0 token flow): besides the API key, the emulator accepts access tokens
from ``POST /auth/api/token/getAccessToken`` with ``{"clientId": emu.client_id, "code": ...}``.
The code is the development code ``emu.auth_code`` (``"mavi-emulator-code"`` unless changed
with ``auth_code=`` or ``--auth-code``), accepted any number of times, or a single-use code
from ``emu.authorization_code()``, like one sent to a callback URL. ``emu.token_flow_help()``
says the same with this emulator's address::

    from mavi_core import MaviClient

    auth = MaviClient(base_url=emu.base_url).exchange_code(emu.client_id, emu.auth_code)
    client = MaviClient(base_url=emu.base_url, auth=auth)

Safe to leave running: a request body is read only once its key was accepted, and only up to
8 MiB (256 MiB for uploads; ``max_body_bytes`` / ``max_upload_bytes``), beyond which the reply
is HTTP 413; the request log keeps the last 1000 requests (``log_size``) with bodies cut to
8 KiB (``log_body_bytes``).

The v1.2 chat
-------------

Served next to v1.0 by default (``api_versions=("v1.0", "v1.2")``, ``--api-version``; a
dialect left out answers its chat and video paths, and v1.2 its session list too, with HTTP 404,
as an unknown path; the token endpoints are always served).
Both chat paths take the body
``{"video_nos": [str, ...], "prompt": str, "session_id"?: int | str, "unique_id"?: str}`` and
the key in ``Authorization`` (raw, ``Bearer`` tolerated). Without ``session_id`` a new session
starts.
The chat reads the same library as the v1.2 video endpoints below: the key's, in the namespace
``unique_id`` names (``"default"`` when none is sent), so a video of another key or another
``unique_id`` is ``"Video does not exist: <video_no>"``. A session belongs to whoever started
it (the API key, or the user of one authorization code, whose refreshed tokens stay theirs) and
to the ``unique_id`` it was started in: another credential, or another ``unique_id``, that
sends its id is answered as for an unknown session, and the session list and
``get_session_detail`` show the caller's sessions of that ``unique_id`` only. Chat calls of
both dialects share one rate limit per key.

Replies take the shapes the service's pages document (one sample of each in
tests/data/wire_samples/v1.2/, which tests/conformance/ compares with these replies).
``POST /serve/api/v1/chat`` answers ``application/json;charset=UTF-8``::

    {"code": "0000", "msg": "success", "data": {
        "role": "ASSISTANT",
        "content": "In kitchen_knife_skills_demo.mp4 at 01:02–01:45: ...",   # the whole answer
        "thinkings": [{"title": "Understanding the question", "content": "..."}, ...],
        "refs": [{"video": {"duration": "412", "video_no": "VI...", "video_name": "....mp4"},
                  "refItems": [{"videoNo": "VI...", "startTime": 83, "type": "keyframe"},
                               {"videoNo": "VI...", "startTime": 62, "type": "visual_ts",
                                "endTime": 105, "text": "She halves an onion, ..."}, ...]}],
        "session_id": "7251846039218475520"},       # a string of 19 digits
     "success": true, "failed": false}

``POST /serve/api/v1/chat_stream`` answers ``text/event-stream;charset=UTF-8``, one JSON value
per ``data:`` line, each event ended by a blank line, in this order::

    data:{"type":"thinking","title":"...","content":"...","sessionId":"7251846039218475520"}
    data:{"type":"ref","sessionId":"7251846039218475520","ref":[{"video":{...},
          "refItems":[...]}]}
    data:{"type":"content","role":"assistant","content":"In ","sessionId":"7251846039218475520"}
    data:"Done"

Two thinking events, then one ref event naming every cited video (``ref`` is a list, one entry
per video, as in ``refs``), then one content event per piece of the answer (``delta_size``
words), then ``"Done"``. Every event carries the same ``sessionId`` (the ``/chat`` reply's
``session_id``). ``duration`` is a string of seconds; ``startTime`` / ``endTime`` are integer
seconds; ``type`` is ``keyframe`` (one frame: no ``endTime`` and no ``text``), ``visual_ts``
(a scene) or ``audio_ts`` (a transcript line); ``text`` is that scene's description or line.
The refs are the moments the answer cites (a scene as ``visual_ts``, a line as ``audio_ts``;
the first cited scene of each video also as a ``keyframe`` at its middle), sorted by
``startTime``.

``GET /serve/api/v1/get_session_detail?sessionId=`` answers a session of the caller's::

    {"code": "0000", "msg": "success", "data": {"title": "<its first prompt>",
        "messages": [{"role": "user", "content": "..."},
                     {"role": "assistant", "content": "...", "thinkings": [...],
                      "refs": [...]}, ...],
        "session_id": "7251846039218475520"}, "failed": false, "success": true}

Sessions: the emulator keeps each session's turns (up to 1000 sessions, least recently used
forgotten first; up to 200 a key; 50 turns each, each side of a turn cut to 64 KiB), so a
second turn with the returned ``session_id`` continues the first ("What happens next?" goes on
from the last moment cited). A turn is kept once its answer was sent whole; a stream broken by
a fault keeps nothing. Session ids are 19-digit integers below 2**63, beyond the 53 bits a
JavaScript number keeps; a request's ``session_id`` may be a JSON integer or a string of
digits; one of more than 40 digits is a ``0001``.

Errors:

- A malformed body (``video_nos`` missing or not a list of strings, ``prompt`` missing,
  ``session_id`` not an integer, ``unique_id`` not a string), a missing or wrong key, and the
  rate limit are HTTP 200 envelopes ``{"code": "0001" | "0401" | "0429", "msg": ...}`` on both
  paths (``0429`` with ``Retry-After``), sent as plain JSON on the stream path too.
- A chat the service refuses: an unknown video, or one of another library (``"Video does not
  exist: <video_no>"``), one not parsed yet (``"Video is not parsed"``), an unknown or
  forgotten session, or one of another key or ``unique_id`` (``"Session does not exist:
  <session_id>"``). ``/chat`` answers the envelope ``{"code": "0001", "msg": <message>}``;
  ``/chat_stream`` answers HTTP 200 with the single event ``data:"<message>"`` and no
  ``"Done"``.
- An error in the middle of the stream (the fault ``error_after(k, path=...)`` on the stream
  path) is, after ``k`` content events, the event ``data:"<message>"``; nothing follows it.
- A stream's error is always one of the two documented shapes: the bare string
  (tests/data/wire_samples/v1.2/chat_stream_error_string.sse) or, under ``error_envelopes``
  framing, ``data:{"code":"SUCCESS","data":"<message>"}``
  (tests/data/wire_samples/v1.2/chat_stream_error_end.sse); never a ``{"code","msg"}``
  envelope event.

Faults and framing for v1.2: ``error_after``, ``disconnect_after`` and ``stall_after`` take
``path="/serve/api/v1/chat_stream"`` (or ``path=None`` for either chat stream) and count
content events; ``error_envelope``, ``http_error``, ``rate_limit_http`` and ``slow_first_byte``
take either v1.2 path; ``expire_sessions()`` forgets every session. ``emu.faults.framing_v12()``
(``--framing-v12``) sets the stream's framing: ``space_after_data``, ``crlf``, ``end_marker``
(``"Done"``, ``"DONE"``, ``"done"``, ``"[DONE]"``, ``"envelope"`` for
``{"code":"SUCCESS","data":"Done"}``, or None), ``batched`` (several events to a
write, the end marker or an error sharing the last one), ``error_envelopes`` (a refusal or an
error after text ends with ``{"code":"SUCCESS","data":"<message>"}``, as the service's table
shows it, instead of the bare string),
``done_after_error`` and ``content_type``. Replies take the documented shapes
(tests/data/wire_samples/v1.2/): nested refs, ``thinkings``, ``role``, session ids as strings
of digits, ``success``/``failed`` in envelopes.

The v1.2 video endpoints and session list
-----------------------------------------

Served with the v1.2 dialect. A video uploaded through v1.2 belongs to one library: the key's
(its owner: the API key's account, or the user of an authorization) and the namespace
``unique_id`` (``"default"`` when none is sent; one uploaded through v1.0 is the key's
``"default"``); listing, search, transcriptions and deletes see that library only. The samples
are in every library, and deleting one hides it from that library only; the v1.0 paths see
every video. The key as for the chat; each path has the v1.2 rate limit the service publishes
(tests/data/wire_samples/rate-limits.md: ``chat_v12`` 2 a minute, ``upload_v12`` 1 a minute,
``search_v12`` and ``transcription_v12`` 1 a second, ``list_v12``, ``sessions_v12`` and
``delete_v12`` 5 a second; lifted with the others by ``--rate-limit off``) and takes every fault
by path. Errors are ``0001``
envelopes (an unknown video, or one of another library: ``"Video does not exist: <video_no>"``;
a transcript of one not parsed yet: ``"Video is not parsed"``; an upload that is not ``.mp4
.avi .mkv .mov`` with a ``video/*`` file part of at most 3 GB), an unknown ``search_type``
``0003``, deleting an unknown video ``0409``. Replies, as the documentation shows them
(``success`` / ``failed`` where it shows them)::

    POST /serve/api/v1/upload         multipart part "file" (+ form fields "callback", "unique_id")
    POST /serve/api/v1/upload_url     form (or JSON) "url" (+ "callback", "unique_id")
        {"code": "0000", "msg": "success", "data": {"videoNo": "mavi_video_...",
         "videoName": "clip.mp4", "videoStatus": "UNPARSE", "uploadTime": "1744905509814"}}
    POST /serve/api/v1/list_videos    JSON {"page"?, "size"? (20; at most 200), "video_name"?,
                                            "video_no"?, "status"?, "unique_id"?}
        {"code", "msg", "data": {"videos": [{"duration": "412", "size": "103000000",
         "status": "PARSE", "cause": "null", "video_no": "VI...", "video_name": "....mp4",
         "create_time": "1754037217992"}], "current_page": 1, "page_size": 20,
         "total_count": "7"}, "success": true, "failed": false}
    POST /serve/api/v1/search         JSON {"search_param", "search_type"? ("BY_CLIP", its
                                            alias "BY_VIDEO", "BY_AUDIO", "BY_IMAGE",
                                            "BY_CAPTION"), "top_k"? (10; 1 to 1000, 200 for
                                            BY_CAPTION), "video_nos"? (at most 100),
                                            "unique_id"?}
        {"code", "msg", "data": [{"videoNo", "videoName", "startTime": "62",
         "endTime": "105", "score": 0.667}, ...]}      best first; only "video_nos" when sent;
                                                       BY_AUDIO: spoken lines only, each with
                                                       "audio_ts" (its words) before "score";
                                                       BY_CAPTION: scenes only; BY_IMAGE: []
                                                       (no images here)
    POST /serve/api/v1/delete_videos  a bare JSON array of at most 100 video numbers
                                      (+ query "unique_id")
        {"code", "msg", "data": null, "success": true, "failed": false}
    GET  /serve/api/v1/get_audio_transcription?video_no=&unique_id=   (what is said)
    GET  /serve/api/v1/get_video_transcription?video_no=&unique_id=   (what is shown)
        {"code", "msg", "data": {"videoNo", "transcriptions": [{"index": 0,
         "content": "...", "startTime": "2", "endTime": "9"}]}, "success", "failed"}
        {"code", "msg", "data": null, "success": true, "failed": false}   while there is no
                                                       transcript: a video without sound (an
                                                       upload whose name says "silent" or
                                                       "muted"), or an upload's transcript in
                                                       the ``parse_delay`` seconds after it
                                                       was parsed
    GET  /serve/api/v1/list_sessions?page=&unique_id=
        {"code", "msg", "data": {"sessions": [{"sessionId": "7251846039218475520",
         "title": "<the session's first prompt>"}], "current_page": 1, "page_size": 20,
         "total_count": "1"}, "success", "failed"}      newest first

``unique_id`` is accepted everywhere it is shown; sent, it must be a non-empty string (a number
is tolerated; a ``0001`` otherwise).
Times are strings of whole seconds (milliseconds with ``transcript_millis``); sizes of videos
uploaded without bytes (samples, URLs) are made up from their duration.

Video-understanding chat completions
------------------------------------

``POST /serve/api/v2/vu/chat/completions`` (always served; the key as for the chat) answers
about videos given by URL, in each provider's documented reply shape, grounded in the sample
videos: ``emu.media_url(video_no)`` (and ``emu.video_urls``) are the URLs at which the emulator
serves its samples, ``GET /media/<video name>`` (a small MP4 file). Any other URL gets clearly
synthetic content from its file name; an unknown file under the emulator's own ``/media/`` is
answered HTTP 200 with ``status: "errored"``; a model without its provider prefix, HTTP 400
``{"code": 400, "msg": ...}``. A schema under ``extra_body.metadata`` is answered with JSON that
satisfies it; ``stream: true`` streams OpenAI-style chunk events (the service's stream format is
not published). A Nova request with ``toolConfig`` is answered with a call of the tool that best
matches the question (OpenAI's ``message.tool_calls``, arguments satisfying its input schema),
and one whose last user turn carries a ``toolResult`` with that result. The shapes, in
``mavi_core/emulator/_vlm.py``.

The emulator needs the ``emulator`` extra (starlette and uvicorn): without it, importing
``MaviEmulator`` raises an ImportError that says what to install. It imports nothing else from
``mavi_core``.
"""

from typing import TYPE_CHECKING, Any

from ._extra import emulator_class
from ._faults import Faults, Framing, V12Framing
from ._log import RecordedRequest
from ._offline import offline_mode

if TYPE_CHECKING:
    from ._server import MaviEmulator

__all__ = ["Faults", "Framing", "MaviEmulator", "RecordedRequest", "V12Framing", "offline_mode"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so a missing extra is reported by an ImportError naming it.
    if name == "MaviEmulator":
        cls = emulator_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
