from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from paretorec.rank import (
    RankerFeatures,
    build_candidate_features,
    build_ranker_features,
    hash_buckets,
)
from paretorec.types import Dataset, Events, Split
from tests.rank.conftest import HashingEncoder


def build(tiny: Dataset, **kwargs: object) -> RankerFeatures:
    return build_ranker_features(
        tiny,
        valid_fraction=0.0,
        test_fraction=0.5,
        n_buckets=97,
        **kwargs,  # type: ignore[arg-type]
    )


def column(f: RankerFeatures, name: str) -> list[float]:
    return f.dense[:, f.spec.dense_names.index(name)].tolist()


def test_dense_features_by_hand(tiny: Dataset) -> None:
    f = build(tiny)
    assert f.spec.dense_names == (
        "log_price", "margin_rate", "in_stock", "log_popularity", "has_history"
    )  # fmt: skip
    assert column(f, "log_price") == pytest.approx([np.log(10), np.log(100), np.log(100), 0.0])
    assert column(f, "margin_rate") == pytest.approx([1 / 3, 49 / 99, 49 / 99, 0.0])
    assert column(f, "in_stock") == [1.0, 0.0, 0.0, 1.0]
    # exposures in train (session s1): i1 once, i2 once, mean 1
    assert column(f, "log_popularity") == pytest.approx([np.log(2), np.log(2), np.log(2), 0.0])
    assert column(f, "has_history") == [1.0, 1.0, 0.0, 0.0]
    assert f.position.tolist() == [1, 2, 1, 2]
    assert f.keys["query"].to_list() == ["shoe", "shoe", None, None]
    assert f.split is not None and f.split.tolist() == ["train", "train", "test", "test"]
    assert {t: y.tolist() for t, y in f.labels.items()} == {
        "click": [1, 0, 1, 0], "cart": [1, 0, 1, 0], "purchase": [1, 0, 0, 0]
    }  # fmt: skip
    assert f.spec.text_dimension == 0 and f.text_table.shape == (0, 0)


def test_hash_buckets_are_stable_in_range_and_zero_for_null() -> None:
    values = pl.Series(["a", "b", None, "a"])
    buckets = hash_buckets(values, 50)
    assert buckets[0] == buckets[3] and buckets[2] == 0
    assert ((buckets[[0, 1, 3]] >= 1) & (buckets[[0, 1, 3]] < 50)).all()
    np.testing.assert_array_equal(buckets, hash_buckets(values, 50))
    with pytest.raises(ValueError, match="at least 2"):
        hash_buckets(values, 1)


def test_text_features_and_retrieval_scores(tiny: Dataset) -> None:
    encoder = HashingEncoder(16)
    f = build(tiny, encoder=encoder)
    assert f.spec.text_dimension == 16 and f.spec.encoder_name == encoder.name
    assert f.text_index.shape == (4, 3)
    item = f.text_table[f.text_index[:, 0]]
    query_rows = f.text_index[:, 2]
    assert (query_rows[:2] >= 0).all() and (query_rows[2:] == -1).all()
    expected = float(item[0] @ f.text_table[query_rows[0]])
    assert column(f, "cos_query_item")[0] == pytest.approx(expected, abs=1e-6)
    assert column(f, "has_query") == [1.0, 1.0, 0.0, 0.0]
    # u2 has no train exposure: a zero user vector, cosine 0
    assert column(f, "cos_user_item")[2:] == [0.0, 0.0]


def test_candidate_features_use_the_serving_position(tiny: Dataset) -> None:
    encoder = HashingEncoder(16)
    logged = build(tiny, encoder=encoder)
    cands = build_candidate_features(
        tiny,
        logged.spec,
        item_ids=["i3", "i1"],
        user_ids=["u1", None],
        query_texts=["shoe", None],
        encoder=encoder,
    )
    assert cands.spec == logged.spec
    assert cands.position.tolist() == [1, 1]
    assert cands.labels == {} and cands.split is None
    # the hashed ids of the same user / item / query agree with the logged ones
    assert cands.ids[1, 1] == logged.ids[0, 1]
    assert cands.ids[0, 2] == logged.ids[0, 2]
    with pytest.raises(ValueError, match="have no split"):
        cands.in_split(Split.TEST)


def test_candidate_bad_inputs_fail_clearly(tiny: Dataset) -> None:
    encoder = HashingEncoder(16)
    spec = build(tiny, encoder=encoder).spec
    with pytest.raises(ValueError, match="not in the catalog"):
        build_candidate_features(tiny, spec, item_ids=["nope"], encoder=encoder)
    with pytest.raises(ValueError, match="one entry per item"):
        build_candidate_features(tiny, spec, item_ids=["i1"], user_ids=["a", "b"], encoder=encoder)
    with pytest.raises(ValueError, match="pass the encoder"):
        build_candidate_features(tiny, spec, item_ids=["i1"])
    with pytest.raises(ValueError, match="trained with encoder"):
        build_candidate_features(tiny, spec, item_ids=["i1"], encoder=HashingEncoder(8))


def test_logged_bad_inputs_fail_clearly(tiny: Dataset) -> None:
    with pytest.raises(ValueError, match="no events table"):
        build_ranker_features(Dataset(items=tiny.items))
    with pytest.raises(ValueError, match="items lack"):
        build(tiny, extra_item_columns=("weight",))
    assert tiny.events is not None
    stray = tiny.events.frame.with_columns(pl.lit("zz").alias("item_id"))
    with pytest.raises(ValueError, match="not in the catalog"):
        build(Dataset(items=tiny.items, events=Events(stray)))
    with pytest.raises(ValueError, match="item_vectors must have one row per catalog item"):
        build(tiny, item_vectors=np.zeros((2, 4)))


def test_simulated_features_have_the_simulators_item_columns(sim_features: RankerFeatures) -> None:
    assert "item:rating" in sim_features.spec.dense_names
    assert sim_features.tasks == ("click", "cart", "purchase")
    assert sim_features.spec.serving_position == 1
    assert np.isfinite(sim_features.dense).all()
    labels = sim_features.labels
    assert (labels["purchase"] <= labels["cart"]).all() and (
        labels["cart"] <= labels["click"]
    ).all()
