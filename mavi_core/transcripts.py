"""Transcripts as time-stamped passages (docs/client.md#transcripts)."""

from ._transcripts import (
    Passage,
    TranscriptCache,
    TranscriptKind,
    VideoTranscript,
    moment_content,
    passage_id,
    transcript_passages,
)
from ._videos import time_unit

__all__ = [
    "Passage",
    "TranscriptCache",
    "TranscriptKind",
    "VideoTranscript",
    "moment_content",
    "passage_id",
    "time_unit",
    "transcript_passages",
]
