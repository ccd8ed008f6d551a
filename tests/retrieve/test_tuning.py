"""Judging runs and tuning the fusion weight on training queries only."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from paretorec.retrieve import (
    Candidates,
    ReciprocalRankFusion,
    ScoreFusion,
    evaluate_runs,
    tune_fusion_weight,
)
from paretorec.types import Judgments

OFFSET = {"y": 0, "z": 100, "r": 200, "x": 300}  # item positions: y0 < ... < r0 < ...


def run(pairs: list[tuple[str, float]], name: str) -> Candidates:
    ids = tuple(i for i, _ in pairs)
    scores = np.array([s for _, s in pairs])
    positions = np.array([OFFSET[i[0]] + int(i[1:]) for i in ids])
    return Candidates(ids, positions, scores, {name: scores})


def judgments(rows: list[tuple[str, str, float]], split: list[str] | None = None) -> Judgments:
    frame = pl.DataFrame(rows, schema=["query_id", "item_id", "grade"], orient="row")
    if split is not None:
        frame = frame.with_columns(split=pl.Series(split))
    return Judgments(frame)


# For each query, lexical has the relevant item r first; dense puts a wrong y first and r
# last. Min-max: fused(r) = w, fused(y) = 1 - w: r leads exactly when w > 0.5.
QUERIES = [f"q{i}" for i in range(6)]
LEXICAL = {q: run([(f"r{i}", 10.0), (f"x{i}", 5.0)], "lexical") for i, q in enumerate(QUERIES)}
DENSE = {q: run([(f"y{i}", 0.9), (f"r{i}", 0.8)], "dense") for i, q in enumerate(QUERIES)}
JUDGED = judgments([(q, f"r{i}", 2.0) for i, q in enumerate(QUERIES)])


def test_evaluate_runs() -> None:
    assert evaluate_runs(LEXICAL, JUDGED) == pytest.approx(1.0)
    assert evaluate_runs(DENSE, JUDGED) == pytest.approx(1 / math.log2(3))
    assert evaluate_runs(DENSE, JUDGED, metric="mrr@10") == pytest.approx(0.5)
    assert evaluate_runs(DENSE, JUDGED, metric="recall@1") == 0.0
    assert evaluate_runs(DENSE, JUDGED, metric="precision@10") == pytest.approx(0.1)
    empty = {q: Candidates.empty() for q in QUERIES}
    assert evaluate_runs(empty, JUDGED) == 0.0  # an empty list scores 0, it is not skipped
    with pytest.raises(ValueError, match="look like 'ndcg@10'"):
        evaluate_runs(LEXICAL, JUDGED, metric="ndcg")
    with pytest.raises(ValueError, match="look like 'ndcg@10'"):
        evaluate_runs(LEXICAL, JUDGED, metric="auc@10")
    with pytest.raises(ValueError, match="no query of the runs"):
        evaluate_runs({"other": LEXICAL["q0"]}, JUDGED)


def test_tune_score_fusion_weight() -> None:
    tuning = tune_fusion_weight(LEXICAL, DENSE, JUDGED, fusion=ScoreFusion(), metric="ndcg@10")
    assert tuning.weight == 0.6  # the first weight of the grid above 0.5
    assert tuning.fusion == ScoreFusion(weight=0.6)
    assert tuning.n_queries == 6 and tuning.metric == "ndcg@10"
    assert list(tuning.values) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    for weight, value in tuning.values.items():
        expected = 1.0 if weight > 0.5 else 1 / math.log2(3)  # 0.5: a tie, y leads
        assert value == pytest.approx(expected), weight


def test_tune_rrf_weight_on_a_custom_grid() -> None:
    # dense misses r: weight 0.2 gives y 1.6/61 > z 1.6/62 > r 0.4/61; weight 0.9 puts r first
    dense = {q: run([(f"y{i}", 0.9), (f"z{i}", 0.8)], "dense") for i, q in enumerate(QUERIES)}
    tuning = tune_fusion_weight(
        LEXICAL, dense, JUDGED, fusion=ReciprocalRankFusion(), grid=(0.2, 0.9), metric="mrr@10"
    )
    assert tuning.fusion == ReciprocalRankFusion(weight=0.9)
    assert tuning.values == {0.2: pytest.approx(1 / 3), 0.9: pytest.approx(1.0)}


def test_never_reads_test_queries() -> None:
    marked = judgments(
        [(q, f"r{i}", 2.0) for i, q in enumerate(QUERIES)] + [("q_test", "r0", 3.0)],
        split=["train"] * 5 + ["valid", "test"],
    )
    tune_fusion_weight(LEXICAL, DENSE, marked)  # the test query is not among the runs: fine
    with_test = {**LEXICAL, "q_test": LEXICAL["q0"]}
    assert evaluate_runs(with_test, marked) == pytest.approx(1.0)  # evaluating test queries: fine
    with pytest.raises(ValueError, match="'q_test' is a test query"):
        tune_fusion_weight(with_test, {**DENSE, "q_test": DENSE["q0"]}, marked)
    with pytest.raises(ValueError, match="same query ids"):
        tune_fusion_weight(with_test, DENSE, JUDGED)
    with pytest.raises(ValueError, match="grid is empty"):
        tune_fusion_weight(LEXICAL, DENSE, JUDGED, grid=())
