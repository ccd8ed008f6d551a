"""Carving valid queries out of train: whole queries, seeded, a documented share."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from paretorec.data.splits import MIN_TRAIN_QUERIES_LEFT, carve_valid_queries
from paretorec.types import Judgments


def judgments(n_train: int, n_test: int = 2, per_query: int = 3) -> Judgments:
    rows = [
        (f"q{q:03d}", f"i{q}-{j}", 3.0, "train" if q < n_train else "test")
        for q in range(n_train + n_test)
        for j in range(per_query)
    ]
    return Judgments(
        pl.DataFrame(rows, schema=["query_id", "item_id", "grade", "split"], orient="row")
    )


def sides(frame: pl.DataFrame) -> dict[str, set[str]]:
    grouped = frame.group_by("split").agg(pl.col("query_id").unique())
    return {split: set(ids) for split, ids in grouped.iter_rows()}


def test_ten_percent_of_twenty_train_queries_move_whole_to_valid() -> None:
    before = judgments(20)
    after, moved = carve_valid_queries(before, share=0.1, seed=0)
    found = sides(after.frame)
    assert moved == 2 and len(found["valid"]) == 2 and len(found["train"]) == 18
    assert found["test"] == sides(before.frame)["test"]  # test is never touched
    assert not found["valid"] & found["train"]
    # every judgment of a carved query went with it
    per_query = after.frame.group_by("query_id").agg(pl.col("split").n_unique())
    assert per_query["split"].max() == 1
    assert after.frame.filter(pl.col("split") == "valid").height == 2 * 3


def test_the_seed_fixes_the_carve() -> None:
    first = sides(carve_valid_queries(judgments(30), seed=4)[0].frame)["valid"]
    again = sides(carve_valid_queries(judgments(30), seed=4)[0].frame)["valid"]
    other = sides(carve_valid_queries(judgments(30), seed=5)[0].frame)["valid"]
    assert first == again and first != other


def test_at_least_one_query_is_carved_and_two_stay() -> None:
    after, moved = carve_valid_queries(judgments(3), share=0.1)
    assert moved == 1 and len(sides(after.frame)["train"]) == MIN_TRAIN_QUERIES_LEFT
    with pytest.raises(ValueError, match="only 2 train queries: too few to carve"):
        carve_valid_queries(judgments(2))
    with pytest.raises(ValueError, match="only 10 train queries"):
        carve_valid_queries(judgments(10), share=0.9)
    with pytest.raises(ValueError, match="valid share must be in"):
        carve_valid_queries(judgments(10), share=0.0)
    with pytest.raises(ValueError, match="no split column"):
        carve_valid_queries(Judgments(judgments(5).frame.drop("split")))


@given(n_train=st.integers(3, 60), share=st.floats(0.01, 0.5), seed=st.integers(0, 10_000))
def test_carving_partitions_the_train_queries(n_train: int, share: float, seed: int) -> None:
    before = judgments(n_train, n_test=1, per_query=2)
    expected = max(1, round(share * n_train))
    if n_train - expected < MIN_TRAIN_QUERIES_LEFT:
        with pytest.raises(ValueError, match="too few to carve"):
            carve_valid_queries(before, share=share, seed=seed)
        return
    after, moved = carve_valid_queries(before, share=share, seed=seed)
    found = sides(after.frame)
    assert moved == expected
    assert found["valid"] | found["train"] == sides(before.frame)["train"]
    assert not found["valid"] & found["train"]
    assert after.frame.drop("split").equals(before.frame.drop("split"))
