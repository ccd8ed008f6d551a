"""What a simulator-trained policy reads, rebuilt from a real request and its candidates.

The layout is the simulator's own (`paretorec.policy.simulator`: `CONTEXT_NAMES`,
`ITEM_FEATURE_NAMES`, `GROUP_NAMES`); each feature is filled from what a served request
has, by name. At serving time there is no hidden shopper intent, so:

- context: ``search`` (1 for /search, 0 for /recommend); ``query_names_brand`` (a
  candidate's brand appears in the query's words); ``query_names_attribute`` (0: no
  attribute vocabulary for a real catalog);
- items: ``leaf_match`` and ``department_match`` are the candidate's first-stage score as
  a share of the best candidate's (the retriever's or recommender's view of the match);
  ``brand_match`` (its brand is in the query); ``attribute_match`` 0; ``popularity_z`` 0
  (the predictions carry popularity); ``rating`` 0 (a neutral 4 stars: the feature is
  ``rating - 4``); ``price_z`` (log price, standardized over the candidates);
  ``log_price_over_5``; ``margin_share`` ``(price - cost) / price`` (0 without a cost);
  ``in_stock`` (stock > 0; 1 where unknown); ``age_years`` from ``created_at`` (0 unknown);
- groups: the category path, the brand and the seller, as codes (-1 where missing).

`RequestFeatures` keeps the item side as arrays by item-store row, prepared when the
policy loads and refreshed for the rows a catalog change touches; a request gathers its
candidates' rows and computes the few request-relative parts (shares, z-scores, ages).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from paretorec.objectives.kernels import share_of_best
from paretorec.policy.simulator import CONTEXT_NAMES, GROUP_NAMES, ITEM_FEATURE_NAMES
from paretorec.stages import CandidateSet, IntArray, ItemRows, RequestContext

__all__ = ["RequestFeatures", "ServedInputs", "dimensions"]

FloatArray = NDArray[np.float64]
_WORDS = re.compile(r"[a-z0-9]+")
_GROUP_COLUMNS = {"leaf": "category", "brand": "brand", "seller": "seller_id"}
_SECONDS_PER_YEAR = 86400.0 * 365.0


@dataclass(frozen=True, eq=False)
class ServedInputs:
    """One request's policy features: context (1, 3), items (1, c, 11), groups (1, c, 3),
    and the candidates' raw prices (1, c) for a predictor that reads them."""

    context: FloatArray
    items: FloatArray
    groups: NDArray[np.int64]
    price: FloatArray


def _float(value: object) -> float:
    return np.nan if value is None else float(value)  # type: ignore[arg-type]


def _timestamp(value: object) -> float:
    if not isinstance(value, datetime):
        return np.nan
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).timestamp()


class RequestFeatures:
    """The policy's features of served requests (see the module docstring)."""

    def __init__(self, items: ItemRows) -> None:
        self._items = items
        self._codes: dict[str, dict[str, int]] = {g: {} for g in GROUP_NAMES}
        self._brand_words: list[tuple[str, ...]] = []
        self._price = np.zeros(0)
        self._cost = np.zeros(0)
        self._stock = np.zeros(0)
        self._created = np.zeros(0)
        self._groups = np.zeros((0, len(GROUP_NAMES)), dtype=np.int64)
        self.refresh(np.arange(items.n_rows, dtype=np.int64))

    def refresh(self, rows: IntArray) -> None:
        """(Re)compute the item-side arrays of `rows` from the item store."""
        size = self._items.n_rows
        grow = size - self._price.shape[0]
        if grow > 0:
            self._price, self._cost, self._stock, self._created = (
                np.concatenate([a, np.zeros(grow)])
                for a in (self._price, self._cost, self._stock, self._created)
            )
            self._groups = np.concatenate([self._groups, np.full((grow, 3), -1, np.int64)])
            self._brand_words.extend([()] * grow)
        take = np.asarray(rows, dtype=np.int64).tolist()
        if not take:
            return

        def column(name: str) -> list[object]:
            values = self._items.column(name)
            return [values[r] for r in take]

        self._price[take] = [_float(v) for v in column("price")]
        self._cost[take] = [_float(v) for v in column("cost")]
        self._stock[take] = [_float(v) for v in column("stock")]
        self._created[take] = [_timestamp(v) for v in column("created_at")]
        for j, group in enumerate(GROUP_NAMES):
            codes = self._codes[group]
            self._groups[take, j] = [
                -1 if v is None else codes.setdefault(str(v).strip().casefold(), len(codes))
                for v in column(_GROUP_COLUMNS[group])
            ]
        for row, brand in zip(take, column("brand"), strict=True):
            self._brand_words[row] = tuple(_WORDS.findall(str(brand).lower())) if brand else ()

    def __call__(
        self, context: RequestContext, candidates: CandidateSet, *, now: datetime | None = None
    ) -> ServedInputs:
        rows = candidates.rows
        words = set(_WORDS.findall(context.query.lower())) if context.query else set()
        brand_match = np.asarray(
            [
                bool(tokens) and all(t in words for t in tokens)
                for tokens in (self._brand_words[r] for r in rows.tolist())
            ],
            dtype=np.float64,
        )
        raw_price = np.nan_to_num(self._price[rows], nan=0.0)
        price = np.clip(raw_price, 0.0, None)
        cost = self._cost[rows]
        margin = np.where(
            (price > 0) & np.isfinite(cost),
            (price - np.nan_to_num(cost)) / np.maximum(price, 1e-9),
            0.0,
        )
        stock = np.nan_to_num(self._stock[rows], nan=1.0)
        moment = (now or datetime.now(UTC)).timestamp()
        created = self._created[rows]
        age = (
            np.where(np.isnan(created), 0.0, np.maximum(moment - np.nan_to_num(created), 0.0))
            / _SECONDS_PER_YEAR
        )
        log_price = np.log1p(price)
        spread = float(log_price.std())
        price_z = (
            (log_price - log_price.mean()) / spread if spread > 0 else np.zeros_like(log_price)
        )
        match = share_of_best(np.asarray(candidates.scores, dtype=np.float64))
        zeros = np.zeros(len(candidates))
        by_name = {
            "leaf_match": match,
            "department_match": match,
            "brand_match": brand_match,
            "attribute_match": zeros,
            "popularity_z": zeros,
            "rating": zeros,
            "price_z": price_z,
            "log_price_over_5": log_price / 5.0,
            "margin_share": np.clip(margin, -1.0, 1.0),
            "in_stock": (stock > 0).astype(np.float64),
            "age_years": age,
        }
        request = {
            "search": float(context.query is not None),
            "query_names_brand": float(brand_match.any()),
            "query_names_attribute": 0.0,
        }
        return ServedInputs(
            context=np.asarray([[request[name] for name in CONTEXT_NAMES]], dtype=np.float64),
            items=np.stack([by_name[name] for name in ITEM_FEATURE_NAMES], axis=1)[None],
            groups=self._groups[rows][None],
            price=raw_price[None, :],
        )


def dimensions() -> tuple[int, int, int]:
    """(context, item, group) feature counts a served simulator policy must read."""
    return len(CONTEXT_NAMES), len(ITEM_FEATURE_NAMES), len(GROUP_NAMES)
