"""Fixtures every test folder may use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mavi_core.transcripts import TranscriptCache


@pytest.fixture
def empty_transcript_cache() -> Iterator[None]:
    """The process-wide transcript cache, empty before and after the test: a test that counts
    transcription requests sees its own."""
    TranscriptCache.shared().clear()
    yield
    TranscriptCache.shared().clear()
