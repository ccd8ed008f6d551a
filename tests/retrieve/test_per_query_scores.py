"""per_query_scores: the per-query values evaluate_runs averages (for paired intervals)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from paretorec.retrieve import Candidates, evaluate_runs
from paretorec.retrieve.tuning import per_query_scores
from paretorec.types import Judgments


def run(ids: list[str]) -> Candidates:
    return Candidates(tuple(ids), np.arange(len(ids)), np.linspace(1.0, 0.0, len(ids)))


JUDGED = Judgments(
    pl.DataFrame(
        [("q0", "a", 2.0), ("q1", "b", 1.0), ("q2", "c", 0.0)],
        schema=["query_id", "item_id", "grade"],
        orient="row",
    )
)
RUNS = {"q0": run(["a", "x"]), "q1": run(["x", "y", "b"]), "q2": run(["c"])}


def test_each_query_scored_by_hand_and_the_unjudged_one_left_out() -> None:
    found = per_query_scores(RUNS, JUDGED, metric="ndcg@10")
    # q0: relevant first; q1: relevant third (1 / log2 4); q2 has no grade > 0: left out
    assert found == pytest.approx({"q0": 1.0, "q1": 1 / math.log2(4)})
    assert list(found) == ["q0", "q1"]
    assert per_query_scores(RUNS, JUDGED, metric="recall@2") == {"q0": 1.0, "q1": 0.0}


def test_their_mean_is_evaluate_runs() -> None:
    for metric in ("ndcg@10", "recall@2", "mrr@10"):
        values = per_query_scores(RUNS, JUDGED, metric=metric)
        assert np.mean(list(values.values())) == pytest.approx(
            evaluate_runs(RUNS, JUDGED, metric=metric)
        )


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="look like 'ndcg@10'"):
        per_query_scores(RUNS, JUDGED, metric="ndcg")
    with pytest.raises(ValueError, match="no query of the runs"):
        per_query_scores({"q2": RUNS["q2"]}, JUDGED)
