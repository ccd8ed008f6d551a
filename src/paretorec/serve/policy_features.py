"""What a simulator-trained policy reads, rebuilt from a real request and its candidates.

A policy trained in the simulated shop (`paretorec.policy.simulator`) reads three context
features (`CONTEXT_NAMES`), eleven item features (`ITEM_FEATURE_NAMES`) and three group
labels (leaf, brand, seller). At serving time there is no hidden shopper intent, so the
features are rebuilt from what a request has, each documented here:

- context: ``search`` (1 for /search, 0 for /recommend); ``query_names_brand`` (a
  candidate's brand appears in the query's words); ``query_names_attribute`` (0: no
  attribute vocabulary for a real catalog);
- items: ``leaf_match`` and ``department_match`` are the candidate's first-stage score as
  a share of the best candidate's (the retriever's or recommender's view of the match);
  ``brand_match`` (its brand is in the query); ``attribute_match`` 0; ``popularity_z`` 0
  (the ranker's predictions carry popularity); ``rating`` 4 (neutral: the feature is
  ``rating - 4``); ``price_z`` (log price, standardized over the candidates);
  ``log1p(price) / 5``; margin share ``(price - cost) / price`` (0 without a cost);
  ``in_stock`` (stock > 0; 1 where unknown); age in years from ``created_at`` (0 unknown);
- groups: the category path, the brand and the seller, as codes within the request
  (-1 where missing).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import polars as pl
from numpy.typing import NDArray

from paretorec.serve.stages import CandidateSet, RequestContext

__all__ = ["CONTEXT_DIM", "ITEM_DIM", "N_GROUPS", "request_features"]

CONTEXT_DIM = 3
ITEM_DIM = 11
N_GROUPS = 3
FloatArray = NDArray[np.float64]
_WORDS = re.compile(r"[a-z0-9]+")


def _column(frame: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Series:
    if name in frame.columns:
        return frame[name].cast(dtype, strict=False)
    return pl.Series(name, [None] * frame.height, dtype=dtype)


def _codes(values: list[str | None]) -> NDArray[np.int64]:
    lookup: dict[str, int] = {}
    return np.asarray(
        [-1 if v is None else lookup.setdefault(v.strip().casefold(), len(lookup)) for v in values],
        dtype=np.int64,
    )


def _share(scores: FloatArray) -> FloatArray:
    low = min(float(scores.min()), 0.0) if scores.size else 0.0
    shifted = scores - low
    top = float(shifted.max()) if scores.size else 0.0
    return shifted / top if top > 0 else np.ones_like(scores)


def request_features(
    context: RequestContext, candidates: CandidateSet, *, now: datetime | None = None
) -> tuple[FloatArray, FloatArray, NDArray[np.int64]]:
    """(context (1, 3), item features (1, c, 11), groups (1, c, 3)) for one request."""
    frame = candidates.items.frame
    brands = _column(frame, "brand", pl.String()).to_list()
    words = set(_WORDS.findall(context.query.lower())) if context.query else set()

    def named(brand: str | None) -> bool:
        tokens = _WORDS.findall(brand.lower()) if brand else []
        return bool(tokens) and all(t in words for t in tokens)

    brand_match = np.asarray([named(b) for b in brands], dtype=np.float64)
    price = _column(frame, "price", pl.Float64()).fill_null(0.0).to_numpy().clip(0.0, None)
    cost = _column(frame, "cost", pl.Float64()).to_numpy()
    margin = np.where(
        (price > 0) & np.isfinite(cost),
        (price - np.nan_to_num(cost)) / np.maximum(price, 1e-9),
        0.0,
    )
    stock = _column(frame, "stock", pl.Float64()).fill_null(1.0).to_numpy()
    moment = now or datetime.now(UTC)
    created = _column(frame, "created_at", pl.Datetime("us", "UTC")).to_list()
    age = np.asarray(
        [
            0.0 if c is None else max((moment - c).total_seconds(), 0.0) / 86400.0 / 365.0
            for c in created
        ]
    )
    log_price = np.log1p(price)
    spread = float(log_price.std())
    price_z = (log_price - log_price.mean()) / spread if spread > 0 else np.zeros_like(log_price)
    match = _share(np.asarray(candidates.scores, dtype=np.float64))
    zeros = np.zeros(len(candidates))
    items = np.stack(
        [
            match,
            match,
            brand_match,
            zeros,
            zeros,
            zeros,
            price_z,
            log_price / 5.0,
            np.clip(margin, -1.0, 1.0),
            (stock > 0).astype(np.float64),
            age,
        ],
        axis=1,
    )
    ctx = np.asarray(
        [[float(context.query is not None), float(brand_match.any()), 0.0]], dtype=np.float64
    )
    groups = np.stack(
        [
            _codes(_column(frame, "category", pl.String()).to_list()),
            _codes(brands),
            _codes(_column(frame, "seller_id", pl.String()).to_list()),
        ],
        axis=1,
    )
    return ctx, items[None], groups[None]
