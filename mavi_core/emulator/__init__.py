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

From a terminal, ``python -m mavi_core.emulator`` (or ``mavi-emulator``) serves on port 8808;
this streams an answer event by event::

    curl -N http://127.0.0.1:8808/api/serve/video/chat \\
      -H 'Authorization: sk-mavi-emulator' \\
      -H 'Content-Type: application/json' \\
      -d '{"videoNos": ["VI634021601844219905"], "stream": true, "history": [],
           "message": "How does the chef dice the onion?"}'

The emulator needs the ``emulator`` extra (starlette and uvicorn) and imports nothing else
from ``mavi_core``.
"""

from ._faults import Faults, Framing
from ._log import RecordedRequest
from ._server import MaviEmulator

__all__ = ["Faults", "Framing", "MaviEmulator", "RecordedRequest"]
