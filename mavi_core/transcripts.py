"""Transcripts as time-stamped passages, and the rules that build them.

`MaviClient.get_transcripts` returns `VideoTranscript`s; the adapters' loaders and readers cut
them into `Passage`s with `transcript_passages`.

    from mavi_core.transcripts import TranscriptCache, transcript_passages
"""

from ._transcripts import (
    Passage,
    TranscriptCache,
    TranscriptKind,
    VideoTranscript,
    moment_content,
    passage_id,
    time_unit,
    transcript_passages,
)

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
