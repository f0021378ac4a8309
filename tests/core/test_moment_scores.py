"""Scores for moment search results: the service's when it sends them, else from the rank."""

from __future__ import annotations

import pytest

from mavi_core import Moment
from mavi_core._models import rank_score
from mavi_core._videos import moment_metadata, moment_scores


def moment(score: float | None = None, video_no: str = "VI1") -> Moment:
    return Moment(video_no, "harbor.mp4", 12.0, 30.0, duration=200.0, score=score)


def test_rank_score_is_the_reciprocal_rank() -> None:
    assert [rank_score(rank) for rank in range(4)] == pytest.approx([1.0, 0.5, 1 / 3, 0.25])


def test_moments_without_scores_are_scored_by_their_rank() -> None:
    assert moment_scores([moment(), moment(), moment()]) == pytest.approx([1.0, 0.5, 1 / 3])


def test_the_services_scores_are_kept_when_every_moment_has_one() -> None:
    assert moment_scores([moment(0.9), moment(0.4)]) == [0.9, 0.4]


def test_a_reply_scoring_only_some_moments_is_scored_by_rank_throughout() -> None:
    # Mixing both kinds would let a later moment outscore an earlier one.
    assert moment_scores([moment(0.2), moment()]) == [1.0, 0.5]


def test_no_moments_no_scores() -> None:
    assert moment_scores([]) == []


def test_metadata_carries_the_given_score_over_the_services() -> None:
    assert moment_metadata(moment(), 0.5)["score"] == 0.5
    assert moment_metadata(moment(0.9))["score"] == 0.9
    assert moment_metadata(moment(0.9), 1.0)["score"] == 1.0
    assert "score" not in moment_metadata(moment())
