"""Beyond-accuracy measures of many ranked lists over a catalog of n items.

Lists are rows of `top_items` (n_lists, L) of item indices, best first; per-item facts are
arrays indexed by item. Rank r is 1-based; ``d(r) = 1 / log2(1 + r)``.

- coverage: distinct items shown / n_items
- intra-list diversity by embedding: mean ``1 - cos(x_i, x_j)`` over pairs i < j (in [0, 2])
- intra-list diversity by category: share of pairs i < j of different categories
- novelty: mean ``-log2 p(i)`` of shown items, ``p(i) = (c_i + s) / (sum_j c_j + s n)``
  from training interaction counts c with additive smoothing s (default 1: an item never
  seen in training stays finite)
- exposure of item i: ``sum over lists of d(rank of i)`` (`Discount.LOG`) or the count of
  lists showing it (`Discount.NONE`); its concentration is the Gini coefficient over all
  n items, or over all sellers after summing their items' exposure
- calibration (Steck 2018): per list, ``KL(p || (1 - alpha) q + alpha p)`` (natural log,
  alpha = 0.01) of the list's category distribution q (each item weighing 1, or d(r))
  against the history's p (each history item weighing its interaction count)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from paretorec.objectives import validation as check
from paretorec.objectives.kernels import (
    STECK_ALPHA,
    Discount,
    distinct_pair_share,
    gini,
    mean_pairwise_cosine_distance,
    position_weights,
    unit_rows,
)

__all__ = [
    "Discount",
    "beyond_accuracy",
    "calibration_kl",
    "catalog_coverage",
    "category_diversity",
    "encode_labels",
    "exposure_gini",
    "gini_coefficient",
    "intra_list_diversity",
    "item_exposure",
    "novelty",
    "self_information",
    "seller_exposure_gini",
]


def _lists(top_items: ArrayLike, n_items: int) -> NDArray[np.int64]:
    top = check.int_array(top_items, "top_items", ndim=2)
    if top.size == 0:
        raise ValueError(f"top_items is empty (shape {top.shape})")
    if top.min() < 0 or top.max() >= n_items:
        raise ValueError(f"top_items must lie in [0, {n_items}), found [{top.min()}, {top.max()}]")
    return top


def _n_items(n_items: int) -> int:
    if isinstance(n_items, bool) or not isinstance(n_items, int | np.integer) or n_items <= 0:
        raise ValueError(f"n_items must be a positive integer, got {n_items!r}")
    return int(n_items)


def encode_labels(labels: ArrayLike) -> tuple[NDArray[np.int64], NDArray[Any]]:
    """Integer codes of labels (strings, ints, ...) and the sorted distinct labels."""
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {array.shape}")
    names, codes = np.unique(array, return_inverse=True)
    return codes.astype(np.int64), names


def catalog_coverage(top_items: ArrayLike, *, n_items: int) -> float:
    """Share of the catalog's n items that appear in at least one list."""
    n = _n_items(n_items)
    return float(np.unique(_lists(top_items, n)).size / n)


def intra_list_diversity(
    top_items: ArrayLike, *, item_embeddings: ArrayLike
) -> NDArray[np.float64]:
    """Per list, mean pairwise cosine distance ``1 - cos`` of its items' embeddings."""
    embeddings = check.float_array(item_embeddings, "item_embeddings", ndim=2)
    top = _lists(top_items, embeddings.shape[0])
    if top.shape[1] < 2:
        raise ValueError("intra-list diversity needs lists of at least two items")
    shown = np.unique(top)
    unit = np.zeros_like(embeddings)
    unit[shown] = unit_rows(embeddings[shown])
    return mean_pairwise_cosine_distance(unit[top])


def category_diversity(top_items: ArrayLike, *, item_categories: ArrayLike) -> NDArray[np.float64]:
    """Per list, the share of item pairs whose categories differ."""
    codes, _ = encode_labels(item_categories)
    top = _lists(top_items, codes.size)
    if top.shape[1] < 2:
        raise ValueError("category diversity needs lists of at least two items")
    return distinct_pair_share(codes[top])


def self_information(item_counts: ArrayLike, *, smoothing: float = 1.0) -> NDArray[np.float64]:
    """``-log2 p(i)`` with ``p(i) = (c_i + s) / (sum c + s n)`` from interaction counts."""
    counts = check.nonnegative(check.float_array(item_counts, "item_counts"), "item_counts")
    if counts.size == 0:
        raise ValueError("item_counts is empty")
    if not np.isfinite(smoothing) or smoothing < 0:
        raise ValueError(f"smoothing must be a finite number >= 0, got {smoothing}")
    total = counts.sum() + smoothing * counts.size
    if total <= 0:
        raise ValueError("item_counts are all 0 and smoothing is 0: no popularity to measure")
    smoothed = counts + smoothing
    with np.errstate(divide="ignore"):
        return np.asarray(-np.log2(smoothed / total), dtype=np.float64)


def novelty(
    top_items: ArrayLike, *, item_counts: ArrayLike, smoothing: float = 1.0
) -> NDArray[np.float64]:
    """Per list, the mean self-information of its items (see `self_information`)."""
    information = self_information(item_counts, smoothing=smoothing)
    top = _lists(top_items, information.size)
    shown = information[top]
    if not np.isfinite(shown).all():
        raise ValueError("a shown item has no training interactions and smoothing is 0: p(i) = 0")
    return np.asarray(shown.mean(axis=1), dtype=np.float64)


def item_exposure(
    top_items: ArrayLike, *, n_items: int, discount: Discount = Discount.LOG
) -> NDArray[np.float64]:
    """(n_items,) exposure: each list gives the item at rank r the weight d(r) (or 1)."""
    top = _lists(top_items, _n_items(n_items))
    weights = np.broadcast_to(position_weights(top.shape[1], discount), top.shape)
    return np.bincount(top.ravel(), weights=weights.ravel(), minlength=n_items).astype(np.float64)


def gini_coefficient(values: ArrayLike) -> float:
    """Gini of non-negative values: 0 all equal, (n - 1) / n one holds all."""
    array = check.nonnegative(check.float_array(values, "values"), "values")
    if array.size == 0 or array.sum() == 0:
        raise ValueError("the Gini coefficient needs values with a positive sum")
    return gini(array)


def exposure_gini(
    top_items: ArrayLike, *, n_items: int, discount: Discount = Discount.LOG
) -> float:
    """Gini of item exposure over all n items of the catalog (shown or not)."""
    return gini(item_exposure(top_items, n_items=n_items, discount=discount))


def seller_exposure_gini(
    top_items: ArrayLike, *, item_sellers: ArrayLike, discount: Discount = Discount.LOG
) -> float:
    """Gini of exposure summed per seller, over every seller in `item_sellers`."""
    codes, names = encode_labels(item_sellers)
    exposure = item_exposure(top_items, n_items=codes.size, discount=discount)
    return gini(np.bincount(codes, weights=exposure, minlength=names.size).astype(np.float64))


def calibration_kl(
    top_items: ArrayLike,
    *,
    item_categories: ArrayLike,
    history: Any,
    alpha: float = STECK_ALPHA,
    discount: Discount = Discount.NONE,
) -> NDArray[np.float64]:
    """Per list, Steck's calibration KL of its categories to its user's history.

    history: scipy sparse (n_lists, n_items), each row the user's past interactions
        (the weight of each item, e.g. its count); every row needs one.
    """
    codes, names = encode_labels(item_categories)
    top = _lists(top_items, codes.size)
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must lie in (0, 1], got {alpha}")
    if not sp.issparse(history):
        raise ValueError(f"history must be a scipy sparse matrix, got {type(history).__name__}")
    past = sp.csr_array(history, dtype=np.float64)
    if past.shape != (top.shape[0], codes.size):
        raise ValueError(f"history has shape {past.shape}, expected {(top.shape[0], codes.size)}")
    if not np.isfinite(past.data).all() or (past.data.size and past.data.min() < 0):
        raise ValueError("history weights must be finite and >= 0")
    n_categories = names.size
    one_hot = sp.csr_array(
        (np.ones(codes.size), (np.arange(codes.size), codes)), shape=(codes.size, n_categories)
    )
    p = sp.csr_array(past @ one_hot)
    totals = np.asarray(p.sum(axis=1)).ravel()
    if (totals <= 0).any():
        raise ValueError(f"history row {np.flatnonzero(totals <= 0)[0]} is empty: p(g|u) undefined")
    p.sum_duplicates()
    weights = position_weights(top.shape[1], discount)
    return _steck_rows(top, codes, p, totals, weights, alpha)


def _steck_rows(
    top: NDArray[np.int64],
    codes: NDArray[np.int64],
    p: sp.csr_array,
    totals: NDArray[np.float64],
    weights: NDArray[np.float64],
    alpha: float,
) -> NDArray[np.float64]:
    """Per row, KL of p's row (normalized by `totals`) to the smoothed list distribution,
    looking the list's q up at p's non-zero entries only (other categories add 0)."""
    n_lists = top.shape[0]
    q = sp.csr_array(
        (
            np.tile(weights / weights.sum(), n_lists),
            (np.repeat(np.arange(n_lists), top.shape[1]), codes[top].ravel()),
        ),
        shape=p.shape,
    )
    q.sum_duplicates()
    rows = np.repeat(np.arange(n_lists), np.diff(p.indptr))
    keys_q = np.repeat(np.arange(n_lists), np.diff(q.indptr)) * p.shape[1] + q.indices
    keys_p = rows * p.shape[1] + p.indices
    position = np.minimum(np.searchsorted(keys_q, keys_p), keys_q.size - 1)
    q_at_p = np.where(keys_q[position] == keys_p, q.data[position], 0.0)
    p_values = p.data / totals[rows]
    mixed = (1.0 - alpha) * q_at_p + alpha * p_values
    terms = np.where(
        p_values > 0, p_values * np.log(np.where(p_values > 0, p_values / mixed, 1.0)), 0.0
    )
    return np.bincount(rows, weights=terms, minlength=n_lists).astype(np.float64)


def beyond_accuracy(
    top_items: ArrayLike,
    *,
    n_items: int,
    item_counts: ArrayLike | None = None,
    item_embeddings: ArrayLike | None = None,
    item_categories: ArrayLike | None = None,
    item_sellers: ArrayLike | None = None,
    discount: Discount = Discount.LOG,
) -> dict[str, float]:
    """The catalog-level and mean per-list measures that the given facts allow, by name:
    coverage, gini_items, and where given novelty, ild_embedding, ild_category, gini_sellers."""
    for name, values in (
        ("item_counts", item_counts),
        ("item_embeddings", item_embeddings),
        ("item_categories", item_categories),
        ("item_sellers", item_sellers),
    ):
        if values is not None and np.shape(values)[0] != n_items:
            raise ValueError(f"{name} has {np.shape(values)[0]} rows, expected n_items={n_items}")
    out = {
        "coverage": catalog_coverage(top_items, n_items=n_items),
        "gini_items": exposure_gini(top_items, n_items=n_items, discount=discount),
    }
    if item_counts is not None:
        out["novelty"] = float(novelty(top_items, item_counts=item_counts).mean())
    if item_embeddings is not None:
        out["ild_embedding"] = float(
            intra_list_diversity(top_items, item_embeddings=item_embeddings).mean()
        )
    if item_categories is not None:
        out["ild_category"] = float(
            category_diversity(top_items, item_categories=item_categories).mean()
        )
    if item_sellers is not None:
        out["gini_sellers"] = seller_exposure_gini(
            top_items, item_sellers=item_sellers, discount=discount
        )
    return out
