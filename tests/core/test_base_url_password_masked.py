"""A base_url carrying a password (a gateway with basic auth in front of MAVI) is
quoted whole by repr, error.request_url and the debug log, where the rate-limit store's URL
password is masked (docs/client.md: credentials never appear in repr, logs or messages)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from mavi_core import MaviClient, MaviError, MaviValidationError

PASSWORD = "gateway-pw-0123"


def test_a_base_url_password_never_appears(caplog: Any) -> None:
    caplog.set_level(logging.DEBUG, logger="mavi_core")
    try:
        client = MaviClient("sk-review-key", base_url=f"http://user:{PASSWORD}@127.0.0.1:1",
                            max_retries=0)  # fmt: skip
    except MaviValidationError as error:  # refusing such a base_url is fine too
        refused = str(error)
        assert PASSWORD not in refused
        return
    texts = [repr(client)]
    with pytest.raises(MaviError) as caught:
        client.chat(["VI1"], "What happens?")
    texts += [str(caught.value), str(caught.value.request_url), caplog.text]
    assert all(PASSWORD not in text for text in texts), texts
