"""Pure text helpers: word tokens for lexical ranking, time formatting, delta splitting."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_DELTA_WORD = re.compile(r"\S+\s*")

_STOPWORD_TEXT = """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't clip clips could couldn't describe did didn't
    do does doesn't doing don't down during each explain few for from further get gets got had
    hadn't happen happened happening happens has hasn't have haven't having he he's her here hers
    herself him himself his how i i'm if in into is isn't it it's its itself just let's me mention
    mentioned moment more most my myself no nor not now of off on once only or other our ours
    ourselves out over own part please same say says scene scenes see seen shall she she's should
    show shown shows so some such tell than that that's the their theirs them themselves then there
    there's these they they're thing things this those through to too under until up us very video
    videos was wasn't watch we we're were weren't what what's when where which while who whom whose
    why will with would wouldn't you you're your yours yourself
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def stem(word: str) -> str:
    """A deliberately tiny stemmer so that 'boats' finds 'boat' and 'cubes' finds 'cube'."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Lower-case word tokens, stopwords included."""
    return _WORD.findall(text.lower())


def terms(text: str) -> frozenset[str]:
    """The stemmed content words of a text: what lexical ranking compares."""
    return frozenset(stem(word) for word in words(text) if word not in STOPWORDS)


def mmss(seconds: int) -> str:
    """Format seconds as mm:ss (minutes may exceed 59), as answers cite them."""
    minutes, rest = divmod(max(0, int(seconds)), 60)
    return f"{minutes:02d}:{rest:02d}"


def parse_mmss(text: str) -> int:
    minutes, seconds = text.split(":")
    return int(minutes) * 60 + int(seconds)


def split_deltas(text: str, words_per_delta: int) -> list[str]:
    """Cut text into pieces of `words_per_delta` words; the pieces concatenate back to `text`."""
    tokens = _DELTA_WORD.findall(text)
    size = max(1, words_per_delta)
    if size == 1:
        return tokens
    return ["".join(tokens[i : i + size]) for i in range(0, len(tokens), size)]


def repeat_to_words(text: str, word_count: int) -> str:
    """Repeat `text` word by word until it has exactly `word_count` words (for benchmarks)."""
    tokens = text.split()
    if not tokens or word_count <= 0:
        return text
    return " ".join(tokens[i % len(tokens)] for i in range(word_count))
