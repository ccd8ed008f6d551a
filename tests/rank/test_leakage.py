from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from paretorec.rank import (
    LabelLeakageError,
    SimulatedLogs,
    build_ranker_features,
    find_label_leaks,
    single_feature_auc,
)
from paretorec.types import Dataset, Events


def test_single_feature_auc_by_hand() -> None:
    y = np.array([0, 0, 1, 1])
    assert single_feature_auc(np.array([0.1, 0.2, 0.3, 0.4]), y) == 1.0
    assert single_feature_auc(np.array([0.4, 0.3, 0.2, 0.1]), y) == 0.0
    # pairs (pos, neg): (0.3 > 0.1) (0.3 < 0.35) (0.2 > 0.1) (0.2 < 0.35): 2 of 4
    assert single_feature_auc(np.array([0.1, 0.35, 0.3, 0.2]), y) == 0.5
    assert single_feature_auc(np.array([1.0, 1.0, 1.0, 1.0]), y) == 0.5  # ties count half
    assert np.isnan(single_feature_auc(np.array([1.0, 2.0]), np.array([1, 1])))


def with_ctcvr_flag(logs: SimulatedLogs) -> Dataset:
    """The impression rows get a `converted` column: 1 where that impression led to a
    purchase (a CTCVR label smuggled in as a feature)."""
    assert logs.dataset.events is not None
    events = logs.dataset.events.frame
    keys = ["session_id", "item_id", "position"]
    bought = events.filter(pl.col("event") == "purchase").select(keys).unique()
    flagged = events.join(
        bought.with_columns(pl.lit(1.0).alias("converted")), on=keys, how="left",
        maintain_order="left",
    ).with_columns(pl.col("converted").fill_null(0.0))  # fmt: skip
    return Dataset(items=logs.dataset.items, events=Events(flagged), name="leaky")


def test_a_ctcvr_label_among_the_features_is_refused(sim_logs: SimulatedLogs) -> None:
    leaky = with_ctcvr_flag(sim_logs)
    with pytest.raises(LabelLeakageError, match=r"'event:converted' alone predicts 'purchase'"):
        build_ranker_features(leaky, extra_event_columns=("converted",), n_buckets=64)
    features = build_ranker_features(
        leaky, extra_event_columns=("converted",), n_buckets=64, check_leakage=False
    )
    leaks = find_label_leaks(features)
    assert {(f.feature, f.task) for f in leaks} >= {("event:converted", "purchase")}
    assert all(f.feature == "event:converted" for f in leaks)
    assert next(f.auc for f in leaks if f.task == "purchase") == 1.0


def test_a_feature_named_like_a_task_is_refused(sim_logs: SimulatedLogs) -> None:
    assert sim_logs.dataset.events is not None
    events = sim_logs.dataset.events.frame.with_columns(pl.lit(0.0).alias("click"))
    dataset = Dataset(items=sim_logs.dataset.items, events=Events(events))
    with pytest.raises(LabelLeakageError, match="'event:click' is named like task 'click'"):
        build_ranker_features(dataset, extra_event_columns=("click",), n_buckets=64)


def test_the_default_features_do_not_leak(sim_logs: SimulatedLogs) -> None:
    features = build_ranker_features(sim_logs.dataset, n_buckets=64, check_leakage=False)
    assert find_label_leaks(features) == []
    with pytest.raises(ValueError, match="max_auc"):
        find_label_leaks(features, max_auc=0.4)
