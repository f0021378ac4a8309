"""Stop sequences on the client: the answer ends before the first one; streaming holds back
only text that could still become a stop sequence."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from langchain_mavi._stop import StopSequences


def streamed(stop: list[str], deltas: list[str]) -> tuple[list[str], str, bool]:
    """What a stream hands out per delta, what is flushed at its end, and whether it stopped."""
    stops = StopSequences(stop)
    out = [stops.feed(delta) for delta in deltas]
    return out, stops.finish(), stops.stopped


@pytest.mark.parametrize(
    ("stop", "deltas", "out", "flushed", "stopped"),
    [
        pytest.param([], ["ab", "cd"], ["ab", "cd"], "", False, id="no stop: pass-through"),
        pytest.param([""], ["ab"], ["ab"], "", False, id="empty stop strings are ignored"),
        pytest.param(["X"], ["abXcd"], ["ab"], "", True, id="cut before the stop"),
        pytest.param(["END"], ["ab E", "N", "D more"], ["ab ", "", ""], "", True, id="split stop"),
        pytest.param(["END"], ["ab E", "Nx"], ["ab ", "ENx"], "", False, id="false start released"),
        pytest.param(["END"], ["ab EN"], ["ab "], "EN", False, id="held text flushed at the end"),
        pytest.param(["cd", "b"], ["abcd"], ["a"], "", True, id="first completed wins"),
        pytest.param(["a", "XaX"], ["XaX"], ["X"], "", True, id="not the earliest start"),
        pytest.param(["ab", "b"], ["xab"], ["x"], "", True, id="a tie cuts at the first start"),
        pytest.param(["X"], ["aX", "more"], ["a", ""], "", True, id="nothing after a stop"),
        pytest.param(["abc"], ["xab", "ab", "c"], ["x", "ab", ""], "", True, id="overlap"),
    ],
)
def test_stop_sequences_cut_and_hold_back(
    stop: list[str], deltas: list[str], out: list[str], flushed: str, stopped: bool
) -> None:
    assert streamed(stop, deltas) == (out, flushed, stopped)


def test_the_matched_stop_sequence_is_recorded() -> None:
    stops = StopSequences(["\nUser:", "###"])
    stops.feed("answer###\nUser:")

    assert stops.matched == "###"


alphabet = st.text(alphabet="abX", max_size=30)
stop_lists = st.lists(st.text(alphabet="abX", min_size=1, max_size=3), max_size=3)


@settings(max_examples=300, deadline=None)
@given(alphabet, stop_lists, st.lists(st.integers(min_value=0, max_value=30), max_size=8))
@example(answer="XaX", stop=["a", "XaX"], cuts=[2])
def test_property_any_split_of_the_answer_gives_the_same_cut_text(
    answer: str, stop: list[str], cuts: list[int]
) -> None:
    bounds = sorted({0, len(answer), *(min(cut, len(answer)) for cut in cuts)})
    deltas = [answer[start:end] for start, end in pairwise(bounds)]
    # The stop sequence completed first wins; on a tie, the one that started first.
    hits = sorted((answer.find(s) + len(s), answer.find(s)) for s in stop if s in answer)
    expected = answer[: hits[0][1]] if hits else answer

    out, flushed, stopped = streamed(stop, deltas)

    assert "".join(out) + flushed == expected
    assert stopped == bool(hits)


@settings(max_examples=300, deadline=None)
@given(alphabet, stop_lists)
def test_property_held_back_text_is_only_a_possible_stop_start(
    answer: str, stop: list[str]
) -> None:
    stops = StopSequences(stop)
    handed_out = ""
    for end, char in enumerate(answer, start=1):
        handed_out += stops.feed(char)
        if stops.stopped:
            break
        held = answer[len(handed_out) : end]
        assert held == "" or any(s.startswith(held) and s != held for s in stop)
