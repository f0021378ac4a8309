"""A local MAVI-compatible HTTP server for offline development, tests and demos.

``MaviEmulator`` serves the MAVI v1.0 API (chat with real incremental streaming, upload,
search, transcription, delete, access tokens) on loopback from a background thread, over a
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

Like the service, every endpoint is limited per key (chat 10 calls a minute, uploads 10, moment
searches 10, whole-video searches 20, listings 200, transcriptions 20; answered ``0429`` with a
``Retry-After`` header); ``rate_limits={...}`` sets single endpoints, ``rate_window=1.0`` counts
per second instead of per minute, and ``--rate-limit off`` or ``MaviEmulator(rate_limit=None)``
lifts them all.

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

The emulator needs the ``emulator`` extra (starlette and uvicorn): without it, importing
``MaviEmulator`` raises an ImportError that says what to install. It imports nothing else from
``mavi_core``.
"""

from typing import TYPE_CHECKING, Any

from ._extra import emulator_class
from ._faults import Faults, Framing
from ._log import RecordedRequest

if TYPE_CHECKING:
    from ._server import MaviEmulator

__all__ = ["Faults", "Framing", "MaviEmulator", "RecordedRequest"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so a missing extra is reported by an ImportError naming it.
    if name == "MaviEmulator":
        cls = emulator_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
