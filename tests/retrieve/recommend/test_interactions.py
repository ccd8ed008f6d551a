"""From dataset events to ordered train / valid / test sequences."""

from __future__ import annotations

import polars as pl
import pytest

from paretorec.retrieve.recommend import as_matrix, split_sequences
from paretorec.types import Catalog, Dataset, Events


def dataset(events: dict[str, list[object]]) -> Dataset:
    items = Catalog(pl.DataFrame({"item_id": ["a", "b", "c", "d"], "title": ["A", "B", "C", "D"]}))
    return Dataset(items=items, events=Events(pl.DataFrame(events)))


def test_leave_last_out_by_row_order_without_impressions() -> None:
    data = dataset(
        {
            "user_id": ["u", "u", "u", "u", "u", "v"],
            "item_id": ["a", "b", "d", "c", "d", "a"],
            "event": ["purchase", "click", "impression", "cart", "purchase", "click"],
        }
    )
    sequences = split_sequences(data)
    assert sequences.user_ids == ("u", "v")
    # u's interactions by row order: a, b, c, d (the impression of d is not one)
    assert sequences.train[0].tolist() == [0, 1]
    assert sequences.valid[0].tolist() == [2]
    assert sequences.test[0].tolist() == [3]
    # v has a single time point: it stays in train
    assert sequences.train[1].tolist() == [0]
    assert sequences.valid[1].size == 0 and sequences.test[1].size == 0


def test_given_split_and_timestamps_win() -> None:
    data = dataset(
        {
            "user_id": ["u", "u", "u", "u"],
            "item_id": ["c", "a", "b", "d"],
            "event": ["purchase"] * 4,
            "timestamp": [30, 10, 20, 40],
            "split": ["train", "train", "train", "test"],
        }
    )
    sequences = split_sequences(data)
    assert sequences.train[0].tolist() == [0, 1, 2]  # a, b, c by time
    assert sequences.valid[0].size == 0
    assert sequences.test[0].tolist() == [3]
    assert sequences.history_before_test(0).tolist() == [0, 1, 2]
    assert as_matrix(sequences.train, 4).toarray().tolist() == [[1, 1, 1, 0]]


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not in the items table"):
        split_sequences(dataset({"user_id": ["u"], "item_id": ["zz"], "event": ["click"]}))
    with pytest.raises(ValueError, match="only impressions"):
        split_sequences(dataset({"user_id": ["u"], "item_id": ["a"], "event": ["impression"]}))
    items = Catalog(pl.DataFrame({"item_id": ["a"], "title": ["A"]}))
    with pytest.raises(ValueError, match="no events"):
        split_sequences(Dataset(items=items))
