"""From a dataset's events to the ordered item sequences that recommenders learn from.

Interactions are the events other than impressions (clicks, carts, purchases), each
user's in time order (by `timestamp`, or by row order where there is none). The `split`
column says which are train, valid and test; where it is absent or empty it is filled
leave-last-out per user (`paretorec.data.splits.split_events`: the last time point is
test, the one before valid, the rest train; users with fewer than three stay in train).
Items are indexed by their row in the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp
from numpy.typing import NDArray

from paretorec.data.splits import split_events
from paretorec.retrieve.recommend.base import History
from paretorec.types import Dataset, Events, EventType, Split

__all__ = ["SplitSequences", "as_matrix", "split_sequences"]


@dataclass(frozen=True, eq=False)
class SplitSequences:
    """Every user's train items (ordered, oldest first), valid items and test items, as
    indices into `item_ids` (the catalog's rows); users in `user_ids` order."""

    item_ids: tuple[str, ...]
    user_ids: tuple[str, ...]
    train: tuple[History, ...]
    valid: tuple[History, ...]
    test: tuple[History, ...]

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def history_before_test(self, user: int) -> History:
        """Train items then the valid items: what a user has done before her test."""
        return np.concatenate([self.train[user], self.valid[user]])

    def held_out_test(self, users: NDArray[np.int64]) -> HeldOut:
        """`users`' histories before their test items, the test items as a relevance
        matrix (users x catalog), and how many items each history leaves to rank."""
        histories = [self.history_before_test(u) for u in users.tolist()]
        rows = np.repeat(np.arange(users.size), [self.test[u].size for u in users])
        cols = np.concatenate([self.test[u] for u in users])
        n_items = self.n_items
        relevance = sp.csr_array((np.ones(cols.size), (rows, cols)), shape=(users.size, n_items))
        room = n_items - max(np.unique(h).size for h in histories)
        if room < 1:
            raise ValueError("a user's history covers the whole catalog: nothing left to rank")
        return HeldOut(histories, relevance, room)


@dataclass(frozen=True)
class HeldOut:
    """Users' histories, their held-out items (a sparse 0/1 matrix over the catalog) and
    the longest list every history leaves room for."""

    histories: list[History]
    relevance: sp.csr_array
    room: int


def split_sequences(dataset: Dataset) -> SplitSequences:
    """The sequences of `dataset` (see the module docstring); raises ValueError when it
    has no events or none that are interactions."""
    if dataset.events is None or dataset.events.frame.height == 0:
        raise ValueError(f"{dataset.name} has no events to learn recommendations from")
    item_ids = tuple(dataset.items.item_ids.cast(pl.String).to_list())
    index = pl.DataFrame(
        {"item_id": list(item_ids), "__item": np.arange(len(item_ids), dtype=np.int64)}
    )
    frame = dataset.events.frame.with_row_index("__row")
    frame = frame.filter(pl.col("event").cast(pl.String) != EventType.IMPRESSION.value)
    if frame.height == 0:
        raise ValueError(f"{dataset.name} has only impressions: no interactions to learn from")
    frame = split_events(Events(frame)).frame
    unknown = frame.join(index, on="item_id", how="anti")
    if unknown.height:
        raise ValueError(
            f"events row {int(unknown['__row'][0]) + 1}: item_id {unknown['item_id'][0]!r} "
            f"is not in the items table ({unknown.height} such events)"
        )
    frame = frame.join(index, on="item_id", how="left")
    order = (
        ["user_id", "timestamp", "__row"] if "timestamp" in frame.columns else ["user_id", "__row"]
    )
    frame = frame.sort(order, nulls_last=True)
    grouped = (
        frame.group_by("user_id", maintain_order=True)
        .agg(
            train=pl.col("__item").filter(pl.col("split") == Split.TRAIN.value),
            valid=pl.col("__item")
            .filter(pl.col("split") == Split.VALID.value)
            .unique(maintain_order=True),
            test=pl.col("__item")
            .filter(pl.col("split") == Split.TEST.value)
            .unique(maintain_order=True),
        )
        .sort("user_id")
    )

    def arrays(column: str) -> tuple[History, ...]:
        return tuple(np.asarray(v, dtype=np.int64) for v in grouped[column].to_list())

    return SplitSequences(
        item_ids=item_ids,
        user_ids=tuple(grouped["user_id"].cast(pl.String).to_list()),
        train=arrays("train"),
        valid=arrays("valid"),
        test=arrays("test"),
    )


def as_matrix(rows: tuple[History, ...] | list[History], n_items: int) -> sp.csr_array:
    """A binary (len(rows), n_items) matrix with a 1 at each row's items."""
    lengths = np.array([r.size for r in rows], dtype=np.int64)
    indptr = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = np.concatenate(list(rows)) if rows else np.zeros(0, dtype=np.int64)
    matrix = sp.csr_array((np.ones(indices.size), indices, indptr), shape=(lengths.size, n_items))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def users_with(rows: tuple[History, ...]) -> NDArray[np.int64]:
    """The users that have at least one item in `rows`."""
    return np.flatnonzero([r.size > 0 for r in rows]).astype(np.int64)
