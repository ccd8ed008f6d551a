"""Accuracy at K of ranked lists against known relevant items, graded where given.

An item is relevant when its grade is > 0 (binary relevance: grade 1). With ``rel_r`` the
grade of the item at rank r (0 if not relevant), R the set of all known relevant items of
the user or query (retrieved or not) and ``d(r) = 1 / log2(1 + r)``:

- ``precision@K = |top K ∩ R| / K``
- ``recall@K = |top K ∩ R| / |R|``
- ``hit_rate@K = 1 if top K ∩ R is non-empty else 0``
- ``mrr@K = 1 / (rank of the first relevant item in the top K)``, 0 if none
- ``ndcg@K = sum_{r<=K} gain(rel_r) d(r) / IDCG@K``, IDCG from the K best grades of all
  of R; gain ``2^g - 1`` (`Gain.EXPONENTIAL`, the default) or ``g`` (`Gain.LINEAR`,
  trec_eval's ``ndcg_cut`` and scikit-learn's ``ndcg_score``)
- ``map@K = sum_{r<=K} [r relevant] precision@r / N`` with N = |R| (the default,
  `APNormalization.RELEVANT`: trec_eval's ``map_cut``) or N = min(K, |R|)
  (`APNormalization.MIN_K_RELEVANT`: RecBole's ``MAP``, which can reach 1 when |R| > K)

Recall, NDCG and MAP are undefined without relevant items: the single-list functions raise
ValueError, the batched one skips such users and says how many it skipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from paretorec.objectives import validation as check
from paretorec.objectives.kernels import Gain, gains, position_discount

__all__ = [
    "APNormalization",
    "Gain",
    "Metric",
    "RankingMetrics",
    "average_precision_at_k",
    "batch_ranking_metrics",
    "hit_rate_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
]


class APNormalization(StrEnum):
    """The denominator of average precision at K."""

    RELEVANT = "relevant"  # |R|: trec_eval map_cut
    MIN_K_RELEVANT = "min_k_relevant"  # min(K, |R|): RecBole MAP


class Metric(StrEnum):
    NDCG = "ndcg"
    RECALL = "recall"
    PRECISION = "precision"
    MRR = "mrr"
    HIT_RATE = "hit_rate"
    MAP = "map"


ALL_METRICS: tuple[Metric, ...] = tuple(Metric)


# ---------------------------------------------------------------- one list


@dataclass(frozen=True, eq=False)
class _Judged:
    """The grades of a ranked list, in rank order, and of all relevant items."""

    ranked: NDArray[np.float64]
    relevant: NDArray[np.float64]


def _judge(ranked: ArrayLike, relevant: ArrayLike, grades: ArrayLike | None, k: int) -> _Judged:
    ranked_ids = np.asarray(ranked)
    relevant_ids = np.asarray(relevant)
    for name, ids in (("ranked", ranked_ids), ("relevant", relevant_ids)):
        if ids.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {ids.shape}")
        if ids.dtype.kind == "f" and not np.isfinite(ids).all():
            raise ValueError(f"{name} holds a non-finite id")
    if ranked_ids.size == 0:
        raise ValueError("ranked is empty")
    if np.unique(ranked_ids).size != ranked_ids.size:
        raise ValueError("ranked lists an item more than once")
    if np.unique(relevant_ids).size != relevant_ids.size:
        raise ValueError("relevant lists an item more than once")
    check.check_k(k, length=ranked_ids.size, what="the ranked list")
    if grades is None:
        grade_values = np.ones(relevant_ids.size)
    else:
        grade_values = check.nonnegative(check.float_array(grades, "grades"), "grades")
        if grade_values.size != relevant_ids.size:
            raise ValueError(
                f"grades has {grade_values.size} values but relevant has {relevant_ids.size} items"
            )
    lookup = dict(zip(relevant_ids.tolist(), grade_values.tolist(), strict=True))
    in_rank_order = np.array(
        [lookup.get(i, 0.0) for i in ranked_ids[:k].tolist()], dtype=np.float64
    )
    return _Judged(ranked=in_rank_order, relevant=grade_values[grade_values > 0])


def _need_relevant(judged: _Judged, metric: str) -> int:
    n = judged.relevant.size
    if n == 0:
        raise ValueError(f"{metric} is undefined without relevant items")
    return n


def precision_at_k(ranked: ArrayLike, relevant: ArrayLike, *, k: int) -> float:
    """Relevant items in the top K over K."""
    judged = _judge(ranked, relevant, None, k)
    return float((judged.ranked > 0).sum() / k)


def recall_at_k(
    ranked: ArrayLike, relevant: ArrayLike, *, k: int, grades: ArrayLike | None = None
) -> float:
    """Relevant items in the top K over all relevant items (grade > 0)."""
    judged = _judge(ranked, relevant, grades, k)
    return float((judged.ranked > 0).sum() / _need_relevant(judged, "recall"))


def hit_rate_at_k(ranked: ArrayLike, relevant: ArrayLike, *, k: int) -> float:
    """1 if any relevant item is in the top K, else 0."""
    return float((_judge(ranked, relevant, None, k).ranked > 0).any())


def mrr_at_k(ranked: ArrayLike, relevant: ArrayLike, *, k: int) -> float:
    """Reciprocal rank of the first relevant item in the top K (0 if none)."""
    hits = np.flatnonzero(_judge(ranked, relevant, None, k).ranked > 0)
    return 0.0 if hits.size == 0 else 1.0 / (hits[0] + 1)


def ndcg_at_k(
    ranked: ArrayLike,
    relevant: ArrayLike,
    *,
    k: int,
    grades: ArrayLike | None = None,
    gain: Gain = Gain.EXPONENTIAL,
) -> float:
    """``DCG@K / IDCG@K``; the ideal from the K best grades of all relevant items."""
    judged = _judge(ranked, relevant, grades, k)
    _need_relevant(judged, "ndcg")
    discount = position_discount(k)
    ideal = np.sort(judged.relevant)[::-1][:k]
    return float(
        gains(judged.ranked, gain) @ discount / (gains(ideal, gain) @ discount[: ideal.size])
    )


def average_precision_at_k(
    ranked: ArrayLike,
    relevant: ArrayLike,
    *,
    k: int,
    normalization: APNormalization = APNormalization.RELEVANT,
) -> float:
    """``sum_{r<=K} [r relevant] precision@r / N`` (N: see `APNormalization`)."""
    judged = _judge(ranked, relevant, None, k)
    n_relevant = _need_relevant(judged, "average precision")
    hits = judged.ranked > 0
    precision = np.cumsum(hits) / np.arange(1, k + 1)
    denominator = n_relevant if normalization is APNormalization.RELEVANT else min(k, n_relevant)
    return float(precision[hits].sum() / denominator)


def ranking_metrics(
    ranked: ArrayLike,
    relevant: ArrayLike,
    *,
    ks: Sequence[int] = (10,),
    grades: ArrayLike | None = None,
    gain: Gain = Gain.EXPONENTIAL,
    normalization: APNormalization = APNormalization.RELEVANT,
) -> dict[str, float]:
    """Every metric at every K for one list: ``{"ndcg@10": ..., "recall@10": ..., ...}``.

    Grades count for NDCG only; the others use relevance = grade > 0.
    """
    relevant_ids = np.asarray(relevant)
    binary = relevant_ids
    if grades is not None:
        grade_values = check.nonnegative(check.float_array(grades, "grades"), "grades")
        if grade_values.size != relevant_ids.size:
            raise ValueError(
                f"grades has {grade_values.size} values but relevant has {relevant_ids.size} items"
            )
        binary = relevant_ids[grade_values > 0]
    out: dict[str, float] = {}
    for k in ks:
        out[f"ndcg@{k}"] = ndcg_at_k(ranked, relevant, k=k, grades=grades, gain=gain)
        out[f"recall@{k}"] = recall_at_k(ranked, binary, k=k)
        out[f"precision@{k}"] = precision_at_k(ranked, binary, k=k)
        out[f"mrr@{k}"] = mrr_at_k(ranked, binary, k=k)
        out[f"hit_rate@{k}"] = hit_rate_at_k(ranked, binary, k=k)
        out[f"map@{k}"] = average_precision_at_k(ranked, binary, k=k, normalization=normalization)
    return out


# ---------------------------------------------------------------- many users


@dataclass(frozen=True, eq=False)
class RankingMetrics(Mapping[str, float]):
    """Mean metrics over the users that have relevant items, by name (``"ndcg@10"``).

    `per_user[name]` holds each evaluated user's value, aligned with `users` (their row
    indices); `n_skipped` users had no relevant item and are in no mean.
    """

    means: Mapping[str, float]
    per_user: Mapping[str, NDArray[np.float64]]
    users: NDArray[np.int64]
    n_skipped: int

    def __getitem__(self, name: str) -> float:
        return self.means[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.means)

    def __len__(self) -> int:
        return len(self.means)

    def as_dict(self) -> dict[str, float]:
        return dict(self.means)


def _as_relevance(relevance: Any, n_users: int) -> sp.csr_array:
    if not sp.issparse(relevance):
        raise ValueError(f"relevance must be a scipy sparse matrix, got {type(relevance).__name__}")
    matrix = sp.csr_array(relevance, dtype=np.float64, copy=True)
    if matrix.shape[0] != n_users:
        raise ValueError(f"relevance has {matrix.shape[0]} rows but top_items has {n_users}")
    if not np.isfinite(matrix.data).all():
        raise ValueError("relevance holds a non-finite grade")
    if matrix.data.size and matrix.data.min() < 0:
        raise ValueError(f"relevance grades must be >= 0, found {matrix.data.min()}")
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix


def _check_top_items(top: NDArray[np.int64], n_items: int) -> NDArray[np.int64]:
    if top.size == 0:
        raise ValueError(f"top_items is empty (shape {top.shape})")
    if top.min() < 0 or top.max() >= n_items:
        raise ValueError(
            f"top_items must lie in [0, {n_items}) (relevance's columns), found [{top.min()}, {top.max()}]"
        )
    ordered = np.sort(top, axis=1)
    repeated = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
    if repeated.any():
        raise ValueError(f"row {np.flatnonzero(repeated)[0]} of top_items lists an item twice")
    return top


def _grades_at(top: NDArray[np.int64], matrix: sp.csr_array) -> NDArray[np.float64]:
    """Grade of each top item in its user's row of `matrix` (0 where absent)."""
    n_cols = matrix.shape[1]
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    keys = rows * n_cols + matrix.indices  # sorted: rows ascend, sum_duplicates sorts columns
    if keys.size == 0:
        return np.zeros(top.shape)
    wanted = np.arange(top.shape[0], dtype=np.int64)[:, None] * n_cols + top
    position = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
    found = keys[position] == wanted
    return np.where(found, matrix.data[position], 0.0)


def _ideal_gains(matrix: sp.csr_array, depth: int, gain: Gain) -> NDArray[np.float64]:
    """(n_users, depth): each user's best `depth` gains, descending, 0-padded."""
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    order = np.lexsort((-matrix.data, rows))
    rank = np.arange(order.size) - matrix.indptr[rows[order]]
    keep = rank < depth
    ideal = np.zeros((matrix.shape[0], depth))
    ideal[rows[order][keep], rank[keep]] = gains(matrix.data[order][keep], gain)
    return ideal


def batch_ranking_metrics(
    top_items: ArrayLike,
    relevance: Any,
    *,
    ks: Sequence[int] = (10,),
    metrics: Sequence[Metric] = ALL_METRICS,
    gain: Gain = Gain.EXPONENTIAL,
    normalization: APNormalization = APNormalization.RELEVANT,
) -> RankingMetrics:
    """Metrics at each K for many users at once.

    top_items: (n_users, W) item indices, best first, no repeats in a row; each K <= W.
    relevance: scipy sparse (n_users, n_items), the grade of each relevant item (> 0;
        duplicate entries are summed, explicit zeros are not relevant).
    Grades count for NDCG only; the others use relevance = grade > 0.
    """
    if not ks:
        raise ValueError("ks is empty")
    top = check.int_array(top_items, "top_items", ndim=2)
    matrix = _as_relevance(relevance, top.shape[0])
    top = _check_top_items(top, matrix.shape[1])
    for k in ks:
        check.check_k(k, length=top.shape[1], what="the width of top_items")
    chosen = tuple(Metric(m) for m in metrics)
    n_relevant = np.diff(matrix.indptr)
    users = np.flatnonzero(n_relevant > 0).astype(np.int64)
    if users.size == 0:
        raise ValueError("no user has a relevant item: the metrics are undefined")
    k_max = max(ks)
    graded = _grades_at(top[users, :k_max], matrix[users])
    n_rel = n_relevant[users].astype(np.float64)
    hits = graded > 0
    cumulative_hits = np.cumsum(hits, axis=1)
    discount = position_discount(k_max)
    ideal = np.cumsum(_ideal_gains(matrix[users], k_max, gain) * discount, axis=1)
    gained = np.cumsum(gains(graded, gain) * discount, axis=1)
    precision_sum = np.cumsum(
        np.where(hits, cumulative_hits / np.arange(1, k_max + 1), 0.0), axis=1
    )
    first_hit = np.where(hits.any(axis=1), hits.argmax(axis=1), k_max)

    per_user: dict[str, NDArray[np.float64]] = {}
    for k in ks:
        n_hits = cumulative_hits[:, k - 1].astype(np.float64)
        values = {
            Metric.NDCG: gained[:, k - 1] / ideal[:, k - 1],
            Metric.RECALL: n_hits / n_rel,
            Metric.PRECISION: n_hits / k,
            Metric.MRR: np.where(first_hit < k, 1.0 / (first_hit + 1.0), 0.0),
            Metric.HIT_RATE: (n_hits > 0).astype(np.float64),
            Metric.MAP: precision_sum[:, k - 1]
            / (n_rel if normalization is APNormalization.RELEVANT else np.minimum(n_rel, k)),
        }
        for metric in chosen:
            per_user[f"{metric.value}@{k}"] = values[metric]
    means = {name: float(v.mean()) for name, v in per_user.items()}
    return RankingMetrics(
        means=means, per_user=per_user, users=users, n_skipped=int(matrix.shape[0] - users.size)
    )
