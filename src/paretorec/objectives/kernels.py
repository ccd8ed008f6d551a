"""The elementary formulas behind the objectives and the evaluation metrics.

Pure, vectorized numpy over already-checked arrays (callers validate, see
`paretorec.objectives.validation`); one definition of each formula for the whole package.

- position discount of rank r (1-based): ``d(r) = 1 / log2(1 + r)``
- gain of a grade g: exponential ``2^g - 1`` (the default, Burges et al. 2005) or linear ``g``
- DCG of gains in rank order: ``sum_r gain_r * d(r)``
- Gini of x >= 0 sorted ascending (1-based i): ``sum_i (2i - n - 1) x_i / (n sum_i x_i)``;
  0 when all are equal, (n - 1) / n when one holds everything
- calibration (Steck 2018): ``KL(p || q~) = sum_g p_g ln(p_g / q~_g)`` with
  ``q~ = (1 - alpha) q + alpha p``, natural log, alpha = 0.01
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

STECK_ALPHA = 0.01


class Gain(StrEnum):
    """How a relevance grade g becomes a gain in DCG."""

    EXPONENTIAL = "exponential"  # 2^g - 1: the default; grade 1 -> 1, 2 -> 3, 3 -> 7
    LINEAR = "linear"  # g: trec_eval's and scikit-learn's convention


class Discount(StrEnum):
    """Weight of a position in exposure or in a list's distribution."""

    LOG = "log"  # 1 / log2(1 + rank)
    NONE = "none"  # every position weighs 1


def position_discount(n: int) -> NDArray[np.float64]:
    """``1 / log2(1 + r)`` for ranks r = 1..n."""
    return 1.0 / np.log2(np.arange(2, n + 2, dtype=np.float64))


def position_weights(n: int, discount: Discount) -> NDArray[np.float64]:
    return position_discount(n) if discount is Discount.LOG else np.ones(n)


def gains(grades: NDArray[np.float64], gain: Gain) -> NDArray[np.float64]:
    return np.exp2(grades) - 1.0 if gain is Gain.EXPONENTIAL else grades


def dcg(gains_in_rank_order: NDArray[np.float64]) -> NDArray[np.float64]:
    """DCG along the last axis: ``sum_r gain_r / log2(1 + r)``."""
    n = gains_in_rank_order.shape[-1]
    return np.asarray(gains_in_rank_order @ position_discount(n), dtype=np.float64)


def ideal_dcg(all_gains: NDArray[np.float64], k: int) -> float:
    """DCG of the best ordering of `all_gains`, cut at k."""
    best = np.sort(all_gains)[::-1][:k]
    return float(dcg(best))


def gini(values: NDArray[np.float64]) -> float:
    """Gini coefficient of non-negative values with a positive sum (see the module doc)."""
    x = np.sort(values)
    n = x.size
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float(((2.0 * ranks - n - 1.0) @ x) / (n * x.sum()))


def steck_kl(
    p: NDArray[np.float64], q: NDArray[np.float64], *, alpha: float = STECK_ALPHA
) -> float:
    """``KL(p || (1 - alpha) q + alpha p)`` for distributions p, q over the same categories."""
    mask = p > 0
    mixed = (1.0 - alpha) * q[mask] + alpha * p[mask]
    return float(np.sum(p[mask] * np.log(p[mask] / mixed)))


def mean_pairwise_cosine_distance(unit_rows: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mean of ``1 - cos(x_i, x_j)`` over pairs i < j of unit rows, along axis -2.

    With unit rows, ``sum_{i != j} cos = ||sum_i x_i||^2 - L``, so the mean over the
    ``L (L - 1)`` ordered pairs costs O(L d) instead of O(L^2 d).
    """
    n = unit_rows.shape[-2]
    total = unit_rows.sum(axis=-2)
    off_diagonal = np.einsum("...d,...d->...", total, total) - n
    return np.asarray(1.0 - off_diagonal / (n * (n - 1)), dtype=np.float64)


def distinct_pair_share(codes: NDArray[np.int64]) -> NDArray[np.float64]:
    """Share of pairs i < j with different codes, along the last axis.

    Same-code pairs are ``sum_c n_c (n_c - 1) / 2``; counted on sorted rows as, for each
    element, how many equal elements precede it.
    """
    n = codes.shape[-1]
    ordered = np.sort(codes, axis=-1)
    positions = np.broadcast_to(np.arange(n), ordered.shape)
    starts_run = np.ones(ordered.shape, dtype=bool)
    starts_run[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    run_start = np.maximum.accumulate(np.where(starts_run, positions, 0), axis=-1)
    same_pairs = (positions - run_start).sum(axis=-1)
    return np.asarray(1.0 - same_pairs / (n * (n - 1) / 2.0), dtype=np.float64)


def unit_rows(vectors: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rows scaled to unit Euclidean norm; a zero row raises ValueError."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    if (norms == 0).any():
        raise ValueError("an embedding has zero norm: its cosine distance is undefined")
    return np.asarray(vectors / norms, dtype=np.float64)


def normalized_entropy(shares: NDArray[np.float64], n_max: int) -> float:
    """Shannon entropy of `shares` (summing to 1) divided by ``ln(n_max)``; 1 when n_max <= 1."""
    if n_max <= 1:
        return 1.0
    positive = shares[shares > 0]
    return float(-(positive @ np.log(positive)) / np.log(n_max))


def share_of_best(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    """Scores as a share of the best one, in [0, 1]: shifted up by the lowest score when
    it is negative, all ones when every score is the same (how the first stage's scores
    stand in for relevance where no ranker predicts it)."""
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        return values
    shifted = values - min(float(values.min()), 0.0)
    top = float(shifted.max())
    out: NDArray[np.float64] = shifted / top if top > 0 else np.ones_like(values)
    return out
