"""The standard objectives, each a pure function ``f(ranking, context) -> [0, 1]``.

L is the list's length, ``e_r`` the examination probability of position r
(`ListContext.examination_weights`, by default ``1 / log2(1 + r)``), i_r the item at r.
"Normalized by the ideal" means divided by the value of the best list of length L from the
same candidates (by the rearrangement inequality: the L largest per-item values matched
with the largest examination weights), so 1 is the best achievable; when that ideal is 0
(nothing to gain from these candidates) the value is 0.

| name | direction | value |
|---|---|---|
| ndcg | maximize | DCG / ideal DCG of the candidates' grades, gain ``2^g - 1`` |
| expected_clicks | maximize | ``sum_r e_r c_{i_r}``, normalized by the ideal |
| expected_purchases | maximize | ``sum_r e_r c b``, normalized by the ideal |
| expected_revenue | maximize | ``sum_r e_r c b price``, normalized by the ideal |
| expected_margin | maximize | ``sum_r e_r c b margin``, normalized by the ideal |
| embedding_diversity | maximize | mean pairwise cosine distance / 2 (cosine distance is in [0, 2]) |
| category_diversity | maximize | share of item pairs of different categories |
| novelty | maximize | mean ``-log2 p(i)`` over the list / the same for the L most novel candidates |
| exposure_fairness | maximize | entropy of the sellers' shares of exposure ``e_r`` / ``ln min(L, #sellers)`` |
| miscalibration | minimize | ``1 - exp(-KL)``, KL of Steck (2018) of the list's categories to the history's |

(c: click probability if examined, b: purchase probability given a click.)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from paretorec.objectives.base import ListContext, Objective
from paretorec.objectives.kernels import (
    STECK_ALPHA,
    Gain,
    dcg,
    distinct_pair_share,
    gains,
    ideal_dcg,
    mean_pairwise_cosine_distance,
    normalized_entropy,
    steck_kl,
    unit_rows,
)
from paretorec.types import Direction


def _share_of_ideal(value: float, ideal: float) -> float:
    return 0.0 if ideal <= 0 else value / ideal


def _expected(
    items: NDArray[np.int64], context: ListContext, per_item: NDArray[np.float64]
) -> float:
    weights = context.examination_weights(items.size)
    ideal = np.sort(weights)[::-1] @ np.sort(per_item)[::-1][: items.size]
    return _share_of_ideal(float(weights @ per_item[items]), float(ideal))


def _at_least_two(items: NDArray[np.int64], what: str) -> None:
    if items.size < 2:
        raise ValueError(f"{what} needs a list of at least two items, got {items.size}")


def ndcg(ranking: ArrayLike, context: ListContext, *, gain: Gain = Gain.EXPONENTIAL) -> float:
    """``DCG@L / IDCG@L`` with the ideal from all candidates' grades (gain ``2^g - 1``)."""
    context.require("grades", by="ndcg")
    assert context.grades is not None
    items = context.ranked(ranking)
    all_gains = gains(context.grades, gain)
    return _share_of_ideal(float(dcg(all_gains[items])), ideal_dcg(all_gains, items.size))


def expected_clicks(ranking: ArrayLike, context: ListContext) -> float:
    """Expected clicks ``sum_r e_r c_{i_r}`` over the ideal list's."""
    context.require("click_probs", by="expected_clicks")
    assert context.click_probs is not None
    return _expected(context.ranked(ranking), context, context.click_probs)


def expected_purchases(ranking: ArrayLike, context: ListContext) -> float:
    """Expected purchases ``sum_r e_r c b`` over the ideal list's."""
    context.require("click_probs", "purchase_probs", by="expected_purchases")
    assert context.click_probs is not None and context.purchase_probs is not None
    return _expected(context.ranked(ranking), context, context.click_probs * context.purchase_probs)


def expected_revenue(ranking: ArrayLike, context: ListContext) -> float:
    """Expected revenue ``sum_r e_r c b price`` over the ideal list's."""
    context.require("click_probs", "purchase_probs", "prices", by="expected_revenue")
    assert context.click_probs is not None and context.purchase_probs is not None
    assert context.prices is not None
    per_item = context.click_probs * context.purchase_probs * context.prices
    return _expected(context.ranked(ranking), context, per_item)


def expected_margin(ranking: ArrayLike, context: ListContext) -> float:
    """Expected margin ``sum_r e_r c b margin`` over the ideal list's."""
    context.require("click_probs", "purchase_probs", "margins", by="expected_margin")
    assert context.click_probs is not None and context.purchase_probs is not None
    assert context.margins is not None
    per_item = context.click_probs * context.purchase_probs * context.margins
    return _expected(context.ranked(ranking), context, per_item)


def embedding_diversity(ranking: ArrayLike, context: ListContext) -> float:
    """Mean ``(1 - cos(x_i, x_j)) / 2`` over pairs of listed items."""
    context.require("embeddings", by="embedding_diversity")
    assert context.embeddings is not None
    items = context.ranked(ranking)
    _at_least_two(items, "embedding_diversity")
    return float(mean_pairwise_cosine_distance(unit_rows(context.embeddings[items]))) / 2.0


def category_diversity(ranking: ArrayLike, context: ListContext) -> float:
    """Share of pairs of listed items whose categories differ."""
    context.require("categories", by="category_diversity")
    assert context.categories is not None
    items = context.ranked(ranking)
    _at_least_two(items, "category_diversity")
    codes = np.unique(context.categories[items], return_inverse=True)[1]
    return float(distinct_pair_share(codes.astype(np.int64)))


def novelty(ranking: ArrayLike, context: ListContext) -> float:
    """Mean self-information ``-log2 p(i)`` of the list over that of the L most novel candidates."""
    context.require("popularity", by="novelty")
    assert context.popularity is not None
    items = context.ranked(ranking)
    information = -np.log2(context.popularity)
    ideal = np.sort(information)[::-1][: items.size].mean()
    return _share_of_ideal(float(information[items].mean()), float(ideal))


def exposure_fairness(ranking: ArrayLike, context: ListContext) -> float:
    """Normalized entropy of the sellers' shares of the list's exposure.

    Seller s gets ``sum_{r: seller(i_r) = s} e_r``; the entropy of the shares is divided by
    ``ln min(L, number of sellers among the candidates)``, its largest possible value, so 1
    means the exposure is spread as evenly over sellers as the list allows.
    """
    context.require("sellers", by="exposure_fairness")
    assert context.sellers is not None
    items = context.ranked(ranking)
    weights = context.examination_weights(items.size)
    if weights.sum() <= 0:
        raise ValueError("exposure_fairness needs some examination on the list's positions")
    codes = np.unique(context.sellers[items], return_inverse=True)[1]
    shares = np.bincount(codes, weights=weights) / weights.sum()
    n_max = min(items.size, np.unique(context.sellers).size)
    return normalized_entropy(shares, n_max)


def calibration_kl(
    ranking: ArrayLike, context: ListContext, *, alpha: float = STECK_ALPHA
) -> float:
    """Steck's (2018) ``KL(p || (1 - alpha) q + alpha p)``: p the category distribution of
    the user's history, q that of the list (each item weighing 1), natural log."""
    context.require("categories", "history_categories", by="calibration_kl")
    assert context.categories is not None and context.history_categories is not None
    items = context.ranked(ranking)
    history = context.history_categories
    if history.size == 0:
        raise ValueError("calibration needs a non-empty history_categories")
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must lie in (0, 1], got {alpha}")
    labels, codes = np.unique(
        np.concatenate([history, context.categories[items]]), return_inverse=True
    )
    p = np.bincount(codes[: history.size], minlength=labels.size) / history.size
    q = np.bincount(codes[history.size :], minlength=labels.size) / items.size
    return steck_kl(p, q, alpha=alpha)


def miscalibration(ranking: ArrayLike, context: ListContext) -> float:
    """``1 - exp(-KL)`` of `calibration_kl`: 0 when the list matches the history's mix."""
    return float(-np.expm1(-calibration_kl(ranking, context)))


NDCG = Objective("ndcg", Direction.MAXIMIZE, ndcg, "relevance: NDCG, exponential gain")
EXPECTED_CLICKS = Objective(
    "expected_clicks", Direction.MAXIMIZE, expected_clicks, "expected clicks / ideal"
)
EXPECTED_PURCHASES = Objective(
    "expected_purchases", Direction.MAXIMIZE, expected_purchases, "expected purchases / ideal"
)
EXPECTED_REVENUE = Objective(
    "expected_revenue", Direction.MAXIMIZE, expected_revenue, "expected revenue / ideal"
)
EXPECTED_MARGIN = Objective(
    "expected_margin", Direction.MAXIMIZE, expected_margin, "expected margin / ideal"
)
EMBEDDING_DIVERSITY = Objective(
    "embedding_diversity", Direction.MAXIMIZE, embedding_diversity, "mean cosine distance / 2"
)
CATEGORY_DIVERSITY = Objective(
    "category_diversity", Direction.MAXIMIZE, category_diversity, "share of distinct category pairs"
)
NOVELTY = Objective("novelty", Direction.MAXIMIZE, novelty, "mean self-information / ideal")
EXPOSURE_FAIRNESS = Objective(
    "exposure_fairness", Direction.MAXIMIZE, exposure_fairness, "seller exposure entropy"
)
MISCALIBRATION = Objective(
    "miscalibration", Direction.MINIMIZE, miscalibration, "1 - exp(-Steck KL)"
)

STANDARD_OBJECTIVES: tuple[Objective, ...] = (
    NDCG,
    EXPECTED_CLICKS,
    EXPECTED_PURCHASES,
    EXPECTED_REVENUE,
    EXPECTED_MARGIN,
    EMBEDDING_DIVERSITY,
    CATEGORY_DIVERSITY,
    NOVELTY,
    EXPOSURE_FAIRNESS,
    MISCALIBRATION,
)
