"""The first serving path, kept as the reference the fast path must reproduce exactly.

It builds each request's ranker features with the training-time feature builder over a
throwaway per-request dataset (polars frames and a stand-in encoder), and the policy's
features with polars: slow, but written straight from the training code. The fast path
(`paretorec.rank.serving`, `paretorec.policy.request_features`) must give the same
predictions, features and lists.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from datetime import datetime

import numpy as np
import polars as pl
from numpy.typing import NDArray

from paretorec.rank import Ranker, build_candidate_features
from paretorec.serve.catalog import ItemStore
from paretorec.stages import RequestContext
from paretorec.types import Dataset, Events

FloatArray = NDArray[np.float64]
_WORDS = re.compile(r"[a-z0-9]+")


class KnownQueries:
    """The request's query vector under the ranker's encoder name."""

    def __init__(self, name: str, vector: NDArray[np.float32] | None, dimension: int):
        self.name = name
        self._vector = vector
        self.dimension = dimension

    def encode_queries(self, texts: Iterable[str | bytes]) -> NDArray[np.float32]:
        n = len(list(texts))
        if n == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        assert self._vector is not None
        return np.tile(np.asarray(self._vector, dtype=np.float32), (n, 1))

    def encode_items(self, texts: Iterable[str | bytes]) -> NDArray[np.float32]:
        raise AssertionError("item vectors come from the index")


def ranker_predictions(
    ranker: Ranker,
    store: ItemStore,
    history: pl.DataFrame,
    context: RequestContext,
    ids: list[str],
) -> dict[str, FloatArray]:
    """The ranker's predictions for candidates `ids` the first way (see the docstring)."""
    spec = ranker.spec
    mine = history.filter(pl.col("user_id") == context.user_id) if context.user_id else None
    exposed = [] if mine is None else [str(i) for i in mine["item_id"].to_list()]
    user = context.user_id
    seen = [i for i in exposed if i in store] if user else []
    every = list(dict.fromkeys([*ids, *seen]))
    events = pl.DataFrame(
        {"user_id": [user] * len(seen), "item_id": seen, "event": [spec.base_event] * len(seen)},
        schema={"user_id": pl.String, "item_id": pl.String, "event": pl.String},
    )
    dataset = Dataset(items=store.catalog(every), events=Events(events))
    encoder = None
    vectors = None
    query = context.query
    if spec.text_dimension > 0:
        vectors = store.vectors(every)
        if spec.encoder_name is None:
            query = None
        else:
            if context.query_vector is None:
                query = None
            encoder = KnownQueries(spec.encoder_name, context.query_vector, vectors.shape[1])
    features = build_candidate_features(
        dataset, spec, item_ids=ids, user_ids=[user] * len(ids), query_texts=[query] * len(ids),
        encoder=encoder, item_vectors=vectors,  # type: ignore[arg-type]
    )  # fmt: skip
    column = spec.dense_names.index("log_popularity")
    counts = history.group_by("item_id").len()
    count_of = dict(zip(counts["item_id"].to_list(), counts["len"].to_list(), strict=True))
    mean = counts["len"].mean() if counts.height else None
    scale = float(mean) if isinstance(mean, int | float) and mean > 0 else 1.0
    dense = features.dense.copy()
    dense[:, column] = np.log1p(np.asarray([count_of.get(i, 0) for i in ids], float) / scale)
    features = dataclasses.replace(features, dense=dense)
    out = {t: np.asarray(v, dtype=np.float64) for t, v in ranker.predict(features).items()}
    if "purchase" in out:
        price = store.catalog(ids).frame["price"].cast(pl.Float64).fill_null(0.0).to_numpy()
        out["revenue"] = out["purchase"] * np.clip(price, 0.0, None)
    return out


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
    context: RequestContext, frame: pl.DataFrame, scores: FloatArray, *, now: datetime
) -> tuple[FloatArray, FloatArray, NDArray[np.int64]]:
    """(context (1, 3), item features (1, c, 11), groups (1, c, 3)) for one request."""
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
    moment = now
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
    match = _share(np.asarray(scores, dtype=np.float64))
    zeros = np.zeros(frame.height)
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
