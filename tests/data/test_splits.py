from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from paretorec.data.splits import (
    assign_splits,
    split_events,
    split_judgments,
    split_unless_given,
)
from paretorec.types import Catalog, Dataset, Events, Judgments


def test_leave_last_out_by_row_order_without_timestamps() -> None:
    events = Events(
        pl.DataFrame(
            {"user_id": list("aaaabba"), "item_id": list("1234567"), "event": ["click"] * 7}
        )
    )
    assert split_events(events).frame["split"].to_list() == [
        "train",
        "train",
        "train",
        "valid",
        "train",
        "train",
        "test",
    ]


def test_leave_last_out_by_timestamp_keeps_a_time_point_together() -> None:
    t = [dt.datetime(2020, 1, d) for d in (3, 3, 1, 2)]
    events = Events(
        pl.DataFrame(
            {
                "user_id": ["a"] * 4,
                "item_id": list("1234"),
                "event": ["impression", "click", "impression", "impression"],
                "timestamp": t,
            }
        )
    )
    assert split_events(events).frame["split"].to_list() == ["test", "test", "train", "valid"]


def test_given_split_wins_and_only_gaps_are_filled() -> None:
    events = Events(
        pl.DataFrame(
            {
                "user_id": ["a"] * 4,
                "item_id": list("1234"),
                "event": ["click"] * 4,
                "split": ["test", None, None, None],
            }
        )
    )
    assert split_events(events).frame["split"].to_list() == ["test", "train", "valid", "test"]


@given(st.lists(st.sampled_from("abcde"), min_size=1, max_size=60))
def test_each_user_with_three_or_more_events_has_exactly_one_test_and_one_valid(
    users: list[str],
) -> None:
    events = Events(
        pl.DataFrame(
            {
                "user_id": users,
                "item_id": [str(i) for i in range(len(users))],
                "event": ["click"] * len(users),
            }
        )
    )
    split = split_events(events).frame
    per_user = split.group_by("user_id").agg(
        pl.len().alias("n"),
        (pl.col("split") == "test").sum().alias("test"),
        (pl.col("split") == "valid").sum().alias("valid"),
    )
    for row in per_user.iter_rows(named=True):
        expected = 1 if row["n"] >= 3 else 0
        assert (row["test"], row["valid"]) == (expected, expected)


def test_judgments_split_by_query_is_seeded_and_never_splits_a_query() -> None:
    frame = pl.DataFrame(
        {
            "query_id": [f"q{i // 3}" for i in range(300)],
            "item_id": [str(i) for i in range(300)],
            "grade": [1.0] * 300,
        }
    )
    first = split_judgments(Judgments(frame), seed=1).frame
    assert first.group_by("query_id").agg(pl.col("split").n_unique())["split"].max() == 1
    counts = first.unique("query_id")["split"].value_counts().sort("split")
    assert dict(zip(counts["split"], counts["count"], strict=True)) == {
        "test": 10,
        "train": 80,
        "valid": 10,
    }
    assert split_judgments(Judgments(frame), seed=1).frame.equals(first)
    assert not split_judgments(Judgments(frame), seed=2).frame.equals(first)


def test_a_split_every_row_has_is_kept_else_queries_are_split() -> None:
    own = Judgments(
        pl.DataFrame(
            {"query_id": ["a", "b"], "item_id": ["1", "2"], "grade": [1.0, 2.0]}
        ).with_columns(split=pl.Series(["test", "train"]))
    )
    kept, given = split_unless_given(own, seed=3)
    assert given and kept.frame.equals(own.frame)
    partial = Judgments(own.frame.with_columns(split=pl.Series(["test", None])))
    redone, given = split_unless_given(partial, seed=3)
    assert not given
    assert redone.frame.equals(split_judgments(partial, seed=3).frame)


def test_bad_fractions_are_rejected() -> None:
    frame = pl.DataFrame({"query_id": ["q"], "item_id": ["a"], "grade": [1.0]})
    with pytest.raises(ValueError, match="summing to 1"):
        split_judgments(Judgments(frame), fractions=(0.5, 0.2, 0.2))


def test_assign_splits_leaves_absent_tables_absent() -> None:
    dataset = Dataset(items=Catalog(pl.DataFrame({"item_id": ["a"], "title": ["A"]})))
    assert assign_splits(dataset) == dataset
