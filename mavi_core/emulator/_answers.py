"""Deterministic, grounded answers and searches over the library (pure functions, no I/O).

Ranking is plain lexical overlap: the stemmed content words of the message against those of
each scene description and transcript line, with a small bonus for words of the video's name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ._library import Moment, Video
from ._text import mmss, parse_mmss, stem, terms, words

MAX_CITED = 3
MAX_FRAGMENTS = 10
_NAME_BONUS = 0.5

# A citation as answers write it: "<video name> at mm:ss–mm:ss".
_CITATION = re.compile(r"(?P<name>\w[\w.\-]*\.\w{2,4}) at (?P<start>\d+:\d{2})–(?P<end>\d+:\d{2})")
_FOLLOW_UP_CUES = frozenset(
    {"after", "afterward", "afterwards", "next", "then", "later", "continue"}
)
_FOLLOW_UP_FILLER = _FOLLOW_UP_CUES | frozenset(
    {"and", "so", "what", "happens", "happen", "happened", "that", "this", "it", "comes", "come",
     "on", "go", "keep", "going", "the", "what's", "ok", "okay", "please", "right"}
)  # fmt: skip
# Stemmed, as `terms` gives them: a question whose terms are all here names nothing new.
_FOLLOW_UP_TERMS = frozenset(stem(word) for word in _FOLLOW_UP_FILLER)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True, slots=True)
class Turn:
    user: str
    robot: str


@dataclass(frozen=True, slots=True)
class Hit:
    video: Video
    moment: Moment
    score: float


def _cite(video: Video, moment: Moment, lead: str = "In") -> str:
    where = f"{lead} {video.name} at {mmss(moment.start)}–{mmss(moment.end)}"
    if moment.speaker is None:
        return f"{where}: {moment.text}"
    return f'{where}, {moment.speaker} says: "{moment.text}"'


def rank_moments(videos: Sequence[Video], query: frozenset[str]) -> list[Hit]:
    """Every scene and transcript line that shares a word with `query`, best first."""
    hits: list[tuple[float, int, int, int, Hit]] = []
    for video_index, video in enumerate(videos):
        bonus = _NAME_BONUS * len(query & video.name_terms)
        for kind, moments in enumerate((video.scenes, video.transcript)):
            for moment in moments:
                overlap = len(query & moment.terms)
                if overlap:
                    score = overlap + bonus
                    hits.append(
                        (-score, video_index, moment.start, kind, Hit(video, moment, score))
                    )
    hits.sort(key=lambda item: item[:4])
    return [item[4] for item in hits]


def question_of(message: str) -> str:
    """The last paragraph of a message: the question after any system text put in front of it."""
    paragraphs = [part for part in _PARAGRAPH_BREAK.split(message) if part.strip()]
    return paragraphs[-1] if paragraphs else message


def is_follow_up(message: str) -> bool:
    """'what happens after that?', 'What do they do next?': asks to continue, names nothing new.

    Only the question (the last paragraph) counts, so system text in front of it changes nothing.
    """
    question = question_of(message)
    if not any(token in _FOLLOW_UP_CUES for token in words(question)):
        return False
    return not (terms(question) - _FOLLOW_UP_TERMS)


def _continue_after(videos: Sequence[Video], history: Sequence[Turn]) -> str | None:
    by_name = {video.name: video for video in videos}
    for turn in reversed(history):
        citations = [m for m in _CITATION.finditer(turn.robot) if m["name"] in by_name]
        if not citations:
            continue
        last = citations[-1]
        video = by_name[last["name"]]
        cited_end = parse_mmss(last["end"])
        following = [scene for scene in video.scenes if scene.start >= cited_end][:2]
        if not following:
            final = video.scenes[-1]
            return (
                f"That is where the video ends ({mmss(video.duration)}). "
                f"The final scene, {_cite(video, final, 'in')}"
            )
        parts = [f"After that, {_cite(video, following[0], 'in')}"]
        parts += [f"Then, {_cite(video, scene, 'in')}" for scene in following[1:]]
        return " ".join(parts)
    return None


def _summary(videos: Sequence[Video]) -> str:
    shown = videos[:4]
    per_video = 2 if len(shown) == 1 else 1
    parts = ["I found nothing that matches this directly, so here is how the videos begin."]
    if len(videos) == 1:
        parts[0] = "I found nothing that matches this directly, so here is how the video begins."
    for video in shown:
        parts += [_cite(video, scene) for scene in video.scenes[:per_video]]
    if len(videos) > len(shown):
        parts.append(f"({len(videos) - len(shown)} more videos not summarised.)")
    return " ".join(parts)


def compose_answer(videos: Sequence[Video], message: str, history: Sequence[Turn]) -> str:
    """The chat answer: a few sentences citing video names and mm:ss ranges."""
    if history and is_follow_up(message):
        continued = _continue_after(videos, history)
        if continued is not None:
            return continued
    hits = rank_moments(videos, terms(message))[:MAX_CITED]
    if not hits:
        # Within a conversation, a question that matches nothing continues the story rather
        # than starting it over.
        continued = _continue_after(videos, history) if history else None
        return continued if continued is not None else _summary(videos)
    order = {video.video_no: index for index, video in enumerate(videos)}
    hits.sort(key=lambda hit: (order[hit.video.video_no], hit.moment.start, hit.moment.end))
    return " ".join(_cite(hit.video, hit.moment) for hit in hits)


def cited_moments(videos: Sequence[Video], answer: str) -> list[tuple[Video, Moment]]:
    """The scenes and transcript lines an answer cites, in the order it cites them, once each."""
    by_name = {video.name: video for video in videos}
    cited: dict[tuple[str, bool, int, int], tuple[Video, Moment]] = {}
    for citation in _CITATION.finditer(answer):
        video = by_name.get(citation["name"])
        if video is None:
            continue
        start, end = parse_mmss(citation["start"]), parse_mmss(citation["end"])
        # A transcript line is cited as "..., <speaker> says: ...", a scene as "...: <text>".
        spoken = answer.startswith(",", citation.end())
        for moment in video.transcript if spoken else video.scenes:
            if (moment.start, moment.end) == (start, end):
                cited.setdefault((video.video_no, spoken, start, end), (video, moment))
                break
    return list(cited.values())


def search_videos(videos: Sequence[Video], search_value: str) -> list[Video]:
    """searchAI: videos sharing words with the query, most matching first."""
    query = terms(search_value)
    scored: list[tuple[float, int, Video]] = []
    for index, video in enumerate(videos):
        score = sum(len(query & moment.terms) for moment in video.moments)
        score += 2 * len(query & video.name_terms)
        if score:
            scored.append((-score, index, video))
    scored.sort(key=lambda item: item[:2])
    return [video for _, _, video in scored]


def _score(hit: Hit, query: frozenset[str]) -> float:
    """A hit's score in (0, 1]: the share of the query's words it matched (plus the name's)."""
    return round(min(1.0, hit.score / len(query)), 3)


def search_clips(
    videos: Sequence[Video], search_param: str, *, top_k: int, search_type: str = "BY_CLIP"
) -> list[dict[str, object]]:
    """The v1.2 search: the best matching clips, best first, scored, times as strings of
    seconds. BY_AUDIO: spoken lines only, each with its words (`audio_ts`); BY_CAPTION: scenes
    only; BY_CLIP and BY_VIDEO: both."""
    query = terms(search_param)
    if not query:
        return []
    audio = search_type == "BY_AUDIO"
    wanted = {"BY_AUDIO": True, "BY_CAPTION": False}.get(search_type)
    hits = [
        hit
        for hit in rank_moments(videos, query)
        if wanted is None or (hit.moment.speaker is not None) == wanted
    ]
    clips: list[dict[str, object]] = []
    for hit in hits[:top_k]:
        clip: dict[str, object] = {
            "videoNo": hit.video.video_no,
            "videoName": hit.video.name,
            "startTime": str(hit.moment.start),
            "endTime": str(hit.moment.end),
        }
        if audio:
            clip["audio_ts"] = hit.moment.text
        clip["score"] = _score(hit, query)
        clips.append(clip)
    return clips


def search_fragments(
    videos: Sequence[Video],
    search_value: str,
    *,
    with_score: bool = False,
    limit: int | None = None,
) -> list[dict[str, object]]:
    """searchVideoFragment: the best matching moments, best first: `limit` of them (the field
    the vendor's SDK sends), else `MAX_FRAGMENTS`.

    The live service sends no score, only the order; `with_score` adds one in (0, 1], as some
    deployments might.
    """
    query = terms(search_value)
    if not query:
        return []
    fragments: list[dict[str, object]] = []
    for hit in rank_moments(videos, query)[: limit or MAX_FRAGMENTS]:
        summary = hit.video.summary()
        fragment: dict[str, object] = {
            "videoNo": summary["videoNo"],
            "videoName": summary["videoName"],
            "videoStatus": summary["videoStatus"],
            "uploadTime": summary["uploadTime"],
            "fragmentStartTime": str(hit.moment.start),
            "fragmentEndTime": str(hit.moment.end),
            "duration": summary["duration"],
        }
        if with_score:
            fragment["score"] = _score(hit, query)
        fragments.append(fragment)
    return fragments
