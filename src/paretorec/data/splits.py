"""Train / valid / test splits, where the data has no `split` column of its own.

- Judgments split by query, so no query is seen in training and in test.
- Events split leave-last-out per user: the user's last time point is test, the one
  before it valid, the rest train. Time points are distinct timestamps (rows sharing one,
  such as an impression and its click, stay together), or single rows in file order where
  there is no timestamp. Users with fewer than three time points stay in train.
A `split` value given in the data always wins; only missing values are filled.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl

from paretorec.types import Dataset, Events, Judgments, Split

DEFAULT_QUERY_FRACTIONS = (0.8, 0.1, 0.1)


def _check_fractions(fractions: tuple[float, float, float]) -> None:
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError(
            f"split fractions must be three non-negative numbers summing to 1, got {fractions}"
        )


def _filled(frame: pl.DataFrame, rule: pl.Expr) -> pl.DataFrame:
    if "split" in frame.columns:
        return frame.with_columns(pl.coalesce(pl.col("split"), rule).alias("split"))
    return frame.with_columns(rule.alias("split"))


def split_judgments(
    judgments: Judgments,
    *,
    fractions: tuple[float, float, float] = DEFAULT_QUERY_FRACTIONS,
    seed: int = 0,
) -> Judgments:
    """Assign whole queries to train/valid/test in the given fractions (a seeded shuffle)."""
    _check_fractions(fractions)
    queries = np.sort(judgments.frame["query_id"].unique().drop_nulls().to_numpy())
    order = np.random.default_rng(seed).permutation(len(queries))
    n_train = round(fractions[0] * len(queries))
    n_valid = round(fractions[1] * len(queries))
    labels = np.empty(len(queries), dtype=object)
    labels[order[:n_train]] = Split.TRAIN.value
    labels[order[n_train : n_train + n_valid]] = Split.VALID.value
    labels[order[n_train + n_valid :]] = Split.TEST.value
    mapping = dict(zip(queries.tolist(), labels.tolist(), strict=True))
    rule = pl.col("query_id").replace_strict(mapping, default=None, return_dtype=pl.String)
    return Judgments(_filled(judgments.frame, rule))


DEFAULT_CARVED_VALID_SHARE = 0.1
MIN_TRAIN_QUERIES_LEFT = 2  # in-batch negatives need two queries in a batch


def split_unless_given(judgments: Judgments, *, seed: int = 0) -> tuple[Judgments, bool]:
    """The judgments with their own `split` when every row has one (and True), else split
    by query with `seed` as `split_judgments` splits (and False)."""
    frame = judgments.frame
    if "split" in frame.columns and frame["split"].null_count() == 0:
        return judgments, True
    return split_judgments(judgments, seed=seed), False


def carve_valid_queries(
    judgments: Judgments,
    *,
    share: float = DEFAULT_CARVED_VALID_SHARE,
    seed: int = 0,
    min_train_left: int = MIN_TRAIN_QUERIES_LEFT,
) -> tuple[Judgments, int]:
    """Move `share` of the train queries (a seeded shuffle; at least one) with all their
    judgments to valid, for data whose split holds no valid queries. Returns the judgments
    and how many queries moved; fails when fewer than `min_train_left` would stay (the
    encoder's in-batch negatives need 2; a ranker learns from 1)."""
    if not 0 < share < 1:
        raise ValueError(f"the valid share must be in (0, 1), got {share}")
    frame = judgments.frame
    if "split" not in frame.columns:
        raise ValueError("the judgments have no split column: assign splits first")
    train = frame.filter(pl.col("split") == Split.TRAIN.value)["query_id"].unique().drop_nulls()
    queries = np.sort(train.to_numpy())
    n_valid = max(1, round(share * len(queries)))
    if len(queries) - n_valid < min_train_left:
        raise ValueError(
            f"only {len(queries)} train queries: too few to carve valid queries from "
            f"(a {share:.0%} share, at least 1, leaving at least {min_train_left} "
            f"to train on, needs {min_train_left + 1} or more)"
        )
    carved = queries[np.random.default_rng(seed).permutation(len(queries))[:n_valid]]
    moved = pl.col("query_id").is_in(carved.tolist()) & (pl.col("split") == Split.TRAIN.value)
    return Judgments(
        frame.with_columns(
            pl.when(moved).then(pl.lit(Split.VALID.value)).otherwise(pl.col("split")).alias("split")
        )
    ), n_valid


def split_events(events: Events) -> Events:
    """Leave-last-out per user (see the module docstring)."""
    frame = events.frame
    has_time = "timestamp" in frame.columns and frame["timestamp"].null_count() < frame.height
    order = pl.col("timestamp") if has_time else pl.int_range(pl.len()).alias("__order")
    from_last = order.rank("dense", descending=True).over("user_id")
    points = order.n_unique().over("user_id")
    rule = (
        pl.when((points >= 3) & (from_last == 1))
        .then(pl.lit(Split.TEST.value))
        .when((points >= 3) & (from_last == 2))
        .then(pl.lit(Split.VALID.value))
        .otherwise(pl.lit(Split.TRAIN.value))
    )
    return Events(_filled(frame, rule))


def assign_splits(dataset: Dataset, *, seed: int = 0) -> Dataset:
    """The dataset with a complete `split` column on its judgments and events."""
    return replace(
        dataset,
        judgments=split_judgments(dataset.judgments, seed=seed)
        if dataset.judgments is not None
        else None,
        events=split_events(dataset.events) if dataset.events is not None else None,
    )
