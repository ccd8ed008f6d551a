from __future__ import annotations

import polars as pl
import pytest

from paretorec.rank import logged_samples
from paretorec.types import Dataset, Events, EventType


def test_funnel_labels_are_cumulative_and_unmatched_events_counted(tiny: Dataset) -> None:
    assert tiny.events is not None
    s = logged_samples(tiny.events, valid_fraction=0.0, test_fraction=0.5)
    assert s.base_event is EventType.IMPRESSION
    assert s.tasks == ("click", "cart", "purchase")
    f = s.frame
    assert f["item_id"].to_list() == ["i1", "i2", "i2", "i3"]
    assert f["click"].to_list() == [1, 0, 1, 0]
    assert f["cart"].to_list() == [1, 0, 1, 0]
    assert f["purchase"].to_list() == [1, 0, 0, 0]
    assert s.unmatched_events == 1  # the purchase of i3 in session s9
    # split by session start time: the later session is test
    assert f["split"].to_list() == ["train", "train", "test", "test"]
    assert f["base_row"].to_list() == [0, 1, 2, 3]


def test_without_impressions_each_user_item_pair_is_one_sample() -> None:
    events = pl.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "b"],
            "item_id": ["x", "x", "y", "x", "z"],
            "event": ["click", "purchase", "click", "click", "cart"],
            "timestamp": [1, 2, 3, 4, 5],
        }
    )
    s = logged_samples(Events(events), valid_fraction=0.0, test_fraction=0.5)
    assert s.base_event is EventType.CLICK
    assert s.tasks == ("cart", "purchase")
    f = s.frame
    assert list(zip(f["user_id"], f["item_id"], strict=True)) == [
        ("a", "x"), ("a", "y"), ("b", "x"), ("b", "z")
    ]  # fmt: skip
    assert f["cart"].to_list() == [1, 0, 0, 1]  # a direct buy reached the cart stage too
    assert f["purchase"].to_list() == [1, 0, 0, 0]
    assert f["split"].to_list() == ["train", "train", "test", "test"]  # user b is later


def test_a_given_split_wins(tiny: Dataset) -> None:
    assert tiny.events is not None
    frame = tiny.events.frame.with_columns(pl.lit("VALID").alias("split"))
    s = logged_samples(Events(frame))
    assert set(s.frame["split"].to_list()) == {"valid"}


def test_bad_inputs_fail_clearly(tiny: Dataset) -> None:
    assert tiny.events is not None
    only_impressions = tiny.events.frame.filter(pl.col("event") == "impression")
    with pytest.raises(ValueError, match="only 'impression' rows"):
        logged_samples(Events(only_impressions))
    with pytest.raises(ValueError, match="empty"):
        logged_samples(Events(tiny.events.frame.head(0)))
    with pytest.raises(ValueError, match="lack the requested feature column"):
        logged_samples(tiny.events, extra_columns=("nope",))
    with pytest.raises(ValueError, match="test_fraction"):
        logged_samples(tiny.events, test_fraction=0.0)
    bad = tiny.events.frame.with_columns(pl.lit("later").alias("split"))
    with pytest.raises(ValueError, match="unknown split"):
        logged_samples(Events(bad))
