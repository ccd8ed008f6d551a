"""`ServedRanker`: a trained ranker as the serving `Predictor`, over item arrays prepared once.

The features are those of `paretorec.rank.features` for (user, query, candidate) pairs, in
the ranker's `FeatureSpec` layout; what belongs to an item (hashed ids of the item, its
category, brand and seller; log price, margin rate, in stock, popularity; numeric item
columns) is computed for every catalog row when the version loads and recomputed for
the rows a catalog change touches (`refresh`). Per request only the shopper and query
side is computed: hashed user and query ids, the user's vector (the normalized sum of
the vectors of the served items she was exposed to in the training history), the
cosines, and one forward pass.

Popularity counts the training history's exposures (as training did, over the whole
history). Besides the ranker's tasks, a ranker with a ``purchase`` task gives the
objective ``revenue``: P(purchase) x price.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import torch
from numpy.typing import NDArray
from scipy.special import expit

from paretorec.encode import ColdStart, user_vectors
from paretorec.rank.features import (
    ID_FIELDS,
    TEXT_FIELDS,
    check_candidate_spec,
    hash_bucket,
    item_dense,
    normalized_query,
    popularity_scale,
)
from paretorec.rank.models import Batch
from paretorec.rank.ranker import Ranker
from paretorec.stages import CandidateSet, IntArray, ItemRows, RequestContext

__all__ = ["REVENUE", "ServedRanker"]

REVENUE = "revenue"
FloatArray = NDArray[np.float64]
_ITEM_BUCKETS = (("item", "item_id"), ("category", "category"), ("brand", "brand"),
                 ("seller", "seller_id"))  # fmt: skip
_REQUEST_DENSE = ("has_history", "has_query", "cos_query_item", "cos_user_item")


def _floats(values: Iterable[object]) -> FloatArray:
    return np.asarray([np.nan if v is None else float(v) for v in values], dtype=np.float64)  # type: ignore[arg-type]


class ServedRanker:
    """A `Ranker` as a `paretorec.stages.Predictor` (see the module docstring)."""

    def __init__(
        self,
        ranker: Ranker,
        items: ItemRows,
        *,
        exposures: Iterable[tuple[str, str]] = (),
    ) -> None:
        spec = ranker.spec
        if spec.id_fields != ID_FIELDS or spec.text_fields != TEXT_FIELDS:
            raise ValueError(
                f"this ranker's id fields {spec.id_fields} / text fields {spec.text_fields} "
                f"are not this paretorec's {ID_FIELDS} / {TEXT_FIELDS}"
            )
        check_candidate_spec(spec)
        self.ranker = ranker
        self._spec = spec
        self._items = items
        self._uses_text = spec.text_dimension > 0
        self._exposed: dict[str, list[str]] = {}
        counts: dict[str, int] = {}
        for user, item in exposures:
            self._exposed.setdefault(user, []).append(item)
            counts[item] = counts.get(item, 0) + 1
        self._counts = counts
        self._scale = popularity_scale(list(counts.values()))
        self._item_columns = tuple(
            d.removeprefix("item:") for d in spec.dense_names if d.startswith("item:")
        )
        self._revenue = "purchase" in ranker.tasks and REVENUE not in ranker.tasks
        self._position = min(max(spec.serving_position, 0), spec.max_position)
        self._bucket = lru_cache(maxsize=65_536)(self._hash)
        self._buckets = np.zeros((0, len(_ITEM_BUCKETS)), dtype=np.int64)
        self._dense: dict[str, FloatArray] = {}
        self._price = np.zeros(0)
        self.refresh(np.arange(items.n_rows, dtype=np.int64))

    def _hash(self, value: str | None) -> int:
        return hash_bucket(value, self._spec.n_buckets)

    @property
    def tasks(self) -> tuple[str, ...]:
        return (*self.ranker.tasks, *((REVENUE,) if self._revenue else ()))

    # ------------------------------------------------------------ item side

    def refresh(self, rows: IntArray) -> None:
        """(Re)compute the item-side arrays of `rows` from the item store."""
        rows = np.asarray(rows, dtype=np.int64)
        size = self._items.n_rows
        if size > self._buckets.shape[0]:
            grow = size - self._buckets.shape[0]
            self._buckets = np.concatenate([self._buckets, np.zeros((grow, 4), np.int64)])
            self._price = np.concatenate([self._price, np.zeros(grow)])
            self._dense = {k: np.concatenate([v, np.zeros(grow)]) for k, v in self._dense.items()}
        if rows.size == 0:
            return
        take = rows.tolist()

        def column(name: str) -> list[object]:
            values = self._items.column(name)
            return [values[r] for r in take]

        for j, (_, name) in enumerate(_ITEM_BUCKETS):
            self._buckets[rows, j] = [
                self._bucket(None if v is None else str(v)) for v in column(name)
            ]
        price = _floats(column("price"))
        dense = item_dense(price, _floats(column("cost")), _floats(column("stock")))
        ids = column("item_id")
        counts = np.asarray([self._counts.get(str(i), 0) for i in ids], dtype=np.float64)
        dense["log_popularity"] = np.log1p(counts / self._scale)
        for name in self._item_columns:
            dense[f"item:{name}"] = np.nan_to_num(_floats(column(name)), nan=0.0)
        for name, values in dense.items():
            self._dense.setdefault(name, np.zeros(size))[rows] = values
        self._price[rows] = np.clip(np.nan_to_num(price, nan=0.0), 0.0, None)

    # ------------------------------------------------------------ per request

    def _user(self, user: str | None) -> tuple[list[str], NDArray[np.float32] | None]:
        """The user's exposed items still served, and her vector (None: no text)."""
        seen = [i for i in self._exposed.get(user, ()) if i in self._items] if user else []
        if not self._uses_text:
            return seen, None
        if not seen:
            return seen, np.zeros(self._spec.text_dimension, dtype=np.float32)
        unique = list(dict.fromkeys(seen))
        position = {item: n for n, item in enumerate(unique)}
        vectors = self._items.row_vectors(self._items.rows_of(unique))
        history = [[position[i] for i in seen]]
        return seen, user_vectors(vectors, history, cold_start=ColdStart.ZERO).vectors[0]

    def predict(self, context: RequestContext, candidates: CandidateSet) -> dict[str, FloatArray]:
        spec = self._spec
        rows = candidates.rows
        n = rows.shape[0]
        seen, user_vector = self._user(context.user_id)
        query = context.query
        if self._uses_text and (spec.encoder_name is None or context.query_vector is None):
            query = None  # no vector for it (or a ranker that never saw a query's text)
        query = normalized_query(query)
        ids = np.empty((n, len(ID_FIELDS)), dtype=np.int64)
        ids[:, 0] = self._bucket(context.user_id)
        ids[:, 1] = self._buckets[rows, 0]
        ids[:, 2] = self._bucket(query)
        ids[:, 3:] = self._buckets[rows, 1:]
        request: dict[str, FloatArray | float] = {
            "has_history": float(bool(seen)),
            "has_query": float(query is not None),
        }
        text = np.zeros((n, len(TEXT_FIELDS), spec.text_dimension), dtype=np.float32)
        if self._uses_text:
            assert user_vector is not None
            item_vectors = self._items.row_vectors(rows)
            text[:, 0] = item_vectors
            text[:, 1] = user_vector
            wide = item_vectors.astype(np.float64)
            request["cos_user_item"] = wide @ user_vector.astype(np.float64)
            if query is not None:
                query_vector = np.asarray(context.query_vector, dtype=np.float32)
                text[:, 2] = query_vector
                request["cos_query_item"] = wide @ query_vector.astype(np.float64)
            else:
                request["cos_query_item"] = 0.0
        dense = np.empty((n, len(spec.dense_names)), dtype=np.float32)
        for j, name in enumerate(spec.dense_names):
            dense[:, j] = request[name] if name in _REQUEST_DENSE else self._dense[name][rows]
        batch = Batch(
            ids=torch.from_numpy(ids),
            dense=torch.from_numpy(dense),
            position=torch.full((n,), self._position, dtype=torch.int64),
            text=torch.from_numpy(text),
        )
        model = self.ranker.model
        with torch.inference_mode():
            logits = model(batch)
        predictions = {
            task: expit(logits[task].numpy().astype(np.float64))
            .astype(np.float32)
            .astype(np.float64)
            for task in self.ranker.tasks
        }
        if self._revenue:
            predictions[REVENUE] = predictions["purchase"] * self._price[rows]
        return predictions
