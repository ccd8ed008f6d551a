"""A loop policy as the service's `Policy` stage, so what `retrain` promotes is served.

The item side (department one-hot, log-price, in stock, as the version's layout defines
them) is prepared for every row of the item store when the version loads and refreshed
for the rows a catalog change touches; per request only the shopper's context row (from
the users table of the data the version was trained on; zeros for an unknown shopper)
and the candidates' stored click rates are read. The policy reads no ranker prediction:
its click input is its own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from paretorec.loop.features import CLICK, FloatArray
from paretorec.loop.policy import OBJECTIVES, LoopPolicy
from paretorec.policy.inputs import PolicyInput
from paretorec.policy.serving import rank
from paretorec.preference import Preference
from paretorec.serve.catalog import ItemStore
from paretorec.stages import CandidateSet, IntArray, Predictions, Ranking, RequestContext

__all__ = ["ServedLoopPolicy", "read_users"]

_ITEM_COLUMNS = ("category", "price", "stock")


def read_users(data: str | None) -> pl.DataFrame:
    """The users table of the dataset folder `data` (an empty table without one)."""
    from paretorec.data.io import table_file
    from paretorec.types import TableName

    empty = pl.DataFrame({"user_id": []}, schema={"user_id": pl.String})
    found = table_file(Path(data), TableName.USERS) if data and Path(data).is_dir() else None
    if found is None:
        return empty
    if found.suffix == ".parquet":
        return pl.read_parquet(found)
    return pl.read_csv(found, schema_overrides={"user_id": pl.String})


class ServedLoopPolicy:
    """A `LoopPolicy` as a `paretorec.stages.Policy` (see the module docstring)."""

    def __init__(self, policy: LoopPolicy, store: ItemStore, users: pl.DataFrame) -> None:
        self.policy = policy
        self.store = store
        self.users = users
        self._items = self._features(np.arange(store.n_rows))
        self._contexts: dict[str | None, FloatArray] = {}

    @property
    def objectives(self) -> tuple[str, ...]:
        return OBJECTIVES

    @property
    def prediction_names(self) -> tuple[str, ...]:
        return ()

    @property
    def default_preference(self) -> Preference | None:
        return Preference.of(OBJECTIVES, dict(self.policy.weights))

    @property
    def plackett_luce(self) -> bool:
        return True

    def _features(self, rows: IntArray) -> FloatArray:
        frame = pl.DataFrame(
            {name: [self.store.column(name)[r] for r in rows.tolist()] for name in _ITEM_COLUMNS},
            schema={"category": pl.String, "price": pl.Float64, "stock": pl.Float64},
        )
        return self.policy.layout.items(frame)

    def refresh(self, rows: IntArray) -> None:
        if self.store.n_rows > self._items.shape[0]:
            grown = np.zeros((self.store.n_rows, self._items.shape[1]))
            grown[: self._items.shape[0]] = self._items
            self._items = grown
        if rows.size:
            self._items[rows] = self._features(rows)

    def _context(self, user_id: str | None) -> FloatArray:
        found = self._contexts.get(user_id)
        if found is None:
            found = self.policy.layout.contexts(self.users, [user_id or ""])
            if len(self._contexts) < 100_000:
                self._contexts[user_id] = found
        return found

    def choose(
        self,
        context: RequestContext,
        candidates: CandidateSet,
        predictions: Predictions,
        preference: Preference,
        k: int,
    ) -> Ranking:
        rows = candidates.rows
        inputs = PolicyInput(
            context=self._context(context.user_id),
            item_features=self._items[rows][None],
            predictions={CLICK: self.policy.layout.rates(candidates.item_ids)[None]},
        )
        lists = rank(self.policy.network, inputs, preference.weights, min(k, len(candidates)))
        return Ranking(
            lists.items[0].astype(np.int64),
            lists.scores[0],
            {name: values[0] for name, values in lists.contributions.items()},
            places={name: values[0] for name, values in lists.places.items()},
        )
