"""Judging retrieved lists, and choosing a fusion weight on training queries only.

`evaluate_runs` averages a metric (``ndcg@10``, ``recall@100``, ...: the names of
`paretorec.evaluate.metrics.Metric` at a cut-off) over the queries of a run that have a
judged relevant item (grade > 0), with the definitions of `paretorec.evaluate.metrics`; a
list shorter than K counts its missing places as not relevant.

`tune_fusion_weight` takes each retriever's candidates for the training queries (computed
once, so the grid costs only fusion), fuses them at every weight of the grid and keeps the
weight with the best mean metric (the first in grid order on a tie). It reads the judgments
of the queries it is given and no others, and refuses any query that the judgments' `split`
column marks as test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import polars as pl

from paretorec.evaluate.metrics import (
    Metric,
    average_precision_at_k,
    hit_rate_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.fusion import Fusion, ScoreFusion
from paretorec.types import Judgments, Split

__all__ = [
    "DEFAULT_GRID",
    "FusionTuning",
    "evaluate_runs",
    "per_query_scores",
    "tune_fusion_weight",
]

DEFAULT_GRID: tuple[float, ...] = tuple(round(w, 2) for w in np.linspace(0.0, 1.0, 11))
_PAD = "\x00unretrieved:"


@dataclass(frozen=True)
class FusionTuning:
    """The chosen fusion and the mean metric at each weight tried."""

    fusion: Fusion
    metric: str
    values: Mapping[float, float]
    n_queries: int

    @property
    def weight(self) -> float:
        return self.fusion.weight


def _parse_metric(metric: str) -> tuple[Metric, int]:
    name, _, cut = metric.partition("@")
    try:
        kind, k = Metric(name), int(cut)
    except ValueError:
        raise ValueError(
            f"metric must look like 'ndcg@10' (one of {[m.value for m in Metric]} at a cut-off), "
            f"got {metric!r}"
        ) from None
    if k <= 0:
        raise ValueError(f"metric cut-off must be >= 1, got {metric!r}")
    return kind, k


def _judged(
    judgments: Judgments, query_ids: Sequence[str], *, refuse_test: bool
) -> dict[str, tuple[list[str], list[float]]]:
    frame = judgments.frame.filter(pl.col("query_id").is_in(list(query_ids)))
    if refuse_test and "split" in frame.columns:
        test = frame.filter(pl.col("split").str.to_lowercase() == Split.TEST.value)
        if test.height:
            raise ValueError(
                f"query {test['query_id'][0]!r} is a test query: tune on training queries only"
            )
    frame = frame.filter(pl.col("grade") > 0)
    grouped = frame.group_by("query_id").agg(pl.col("item_id").cast(pl.String), pl.col("grade"))
    return {
        str(row["query_id"]): (list(row["item_id"]), [float(g) for g in row["grade"]])
        for row in grouped.iter_rows(named=True)
    }


def _score(
    kind: Metric, k: int, ranked: list[str], relevant: tuple[list[str], list[float]]
) -> float:
    padded = ranked[:k] + [f"{_PAD}{i}" for i in range(k - min(k, len(ranked)))]
    ids, grades = relevant
    if kind is Metric.NDCG:
        return ndcg_at_k(padded, ids, k=k, grades=grades)
    if kind is Metric.RECALL:
        return recall_at_k(padded, ids, k=k)
    if kind is Metric.PRECISION:
        return precision_at_k(padded, ids, k=k)
    if kind is Metric.MRR:
        return mrr_at_k(padded, ids, k=k)
    if kind is Metric.HIT_RATE:
        return hit_rate_at_k(padded, ids, k=k)
    return average_precision_at_k(padded, ids, k=k)


def _mean(
    kind: Metric,
    k: int,
    runs: Mapping[str, Candidates],
    judged: dict[str, tuple[list[str], list[float]]],
) -> float:
    values = [
        _score(kind, k, list(run.item_ids), judged[q]) for q, run in runs.items() if q in judged
    ]
    return float(np.mean(values))


def evaluate_runs(
    runs: Mapping[str, Candidates], judgments: Judgments, *, metric: str = "ndcg@10"
) -> float:
    """Mean `metric` over the queries of `runs` (by query id) that have a relevant item."""
    return float(np.mean(list(per_query_scores(runs, judgments, metric=metric).values())))


def per_query_scores(
    runs: Mapping[str, Candidates], judgments: Judgments, *, metric: str = "ndcg@10"
) -> dict[str, float]:
    """`metric` of each query of `runs` that has a relevant item, by query id (in the
    runs' order): the per-query values `evaluate_runs` averages, for paired intervals."""
    kind, k = _parse_metric(metric)
    judged = _judged(judgments, list(runs), refuse_test=False)
    if not judged:
        raise ValueError("no query of the runs has a judged relevant item")
    return {
        q: _score(kind, k, list(run.item_ids), judged[q]) for q, run in runs.items() if q in judged
    }


def tune_fusion_weight(
    lexical_runs: Mapping[str, Candidates],
    dense_runs: Mapping[str, Candidates],
    judgments: Judgments,
    *,
    fusion: Fusion | None = None,
    metric: str = "ndcg@10",
    grid: Sequence[float] = DEFAULT_GRID,
) -> FusionTuning:
    """The fusion weight (lexical share) with the best mean `metric` on these queries.

    `lexical_runs` and `dense_runs` map the same training query ids to each retriever's
    candidates (deep enough for the metric's cut-off, such as 100 each); `fusion` gives the
    kind of fusion (default `ScoreFusion()`) whose weight is tuned.
    """
    if set(lexical_runs) != set(dense_runs):
        raise ValueError("lexical_runs and dense_runs must hold the same query ids")
    if not grid:
        raise ValueError("grid is empty")
    kind, k = _parse_metric(metric)
    base: Fusion = fusion if fusion is not None else ScoreFusion()
    judged = _judged(judgments, list(lexical_runs), refuse_test=True)
    if not judged:
        raise ValueError("no training query has a judged relevant item")
    values: dict[float, float] = {}
    for weight in grid:
        candidate = base.with_weight(float(weight))
        fused = {q: candidate.fuse(lexical_runs[q], dense_runs[q], k=k) for q in judged}
        values[float(weight)] = _mean(kind, k, fused, judged)
    best = max(values, key=lambda w: (values[w], -list(values).index(w)))
    return FusionTuning(
        fusion=base.with_weight(best),
        metric=metric,
        values=MappingProxyType(values),
        n_queries=len(judged),
    )
