"""Whether the notebooks run offline: the one rule their setup cells share.

Offline (an emulator of their own, its sample videos and scripted stand-ins) unless
`MAVI_API_KEY` names a real key: no key, the emulator's key (`sk-mavi-emulator`, as
`make emulator` prints it to export), or a `MAVI_BASE_URL` on this machine all mean the
emulator, never the live service. (`make demo` uses whatever service MAVI_* names.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from ._auth import DEFAULT_API_KEY

__all__ = ["offline_mode"]

_LOCAL_HOSTS = frozenset({"localhost", "::1"})


def offline_mode(environ: Mapping[str, str] | None = None) -> bool:
    """True when the MAVI_* variables (of `environ`, default the process's) name no live
    service: then a notebook starts `MaviEmulator` and uses its sample videos."""
    env = os.environ if environ is None else environ
    key = env.get("MAVI_API_KEY", "").strip()
    if not key or key == DEFAULT_API_KEY:
        return True
    host = urlsplit(env.get("MAVI_BASE_URL", "").strip()).hostname or ""
    return host in _LOCAL_HOSTS or host.startswith("127.")
