"""The behaviour model's invariants on small constructed cases with exact values."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from paretorec.simulate import BehaviourConfig, ClickModel, click_probabilities, list_fatigue
from paretorec.simulate.behaviour import (
    ShownList,
    expected_feedback,
    funnel,
    sample_clicks,
    sample_feedback,
)


def neutral_list(n: int, k: int, **overrides: np.ndarray) -> ShownList:
    """A list of k distinct, average items (every feature zero) for n sessions."""
    zeros = np.zeros((n, k))
    fields = dict(
        relevance=zeros,
        query_brand=zeros,
        attribute_match=zeros,
        favourite_brand=zeros,
        category_affinity=zeros,
        quality=zeros,
        popularity_z=zeros,
        price_fit=zeros,
        global_price_z=zeros,
        price_sensitivity=np.ones((n, 1)),
        variety=np.full((n, 1), 0.5),
        leaf=np.tile(np.arange(k), (n, 1)),
        brand=np.tile(np.arange(k), (n, 1)),
        seen_before=zeros,
        in_stock=np.ones((n, k), dtype=bool),
        price=np.full((n, k), 20.0),
        margin=np.full((n, k), 5.0),
    )
    fields.update(overrides)
    return ShownList(**fields)


def test_pbm_click_is_examination_times_attraction() -> None:
    a = np.array([[0.2, 0.5, 0.1], [0.9, 0.0, 1.0]])
    e = np.array([1.0, 0.6, 0.3])
    np.testing.assert_allclose(click_probabilities(a, e, ClickModel.PBM), a * e)


def test_cascade_click_probabilities_exact() -> None:
    a = np.array([[0.2, 0.5, 0.1]])
    gamma = 0.1
    got = click_probabilities(a, np.ones(3), ClickModel.CASCADE, gamma)
    expected = [0.2, 0.8 * 0.9 * 0.5, 0.8 * 0.9 * 0.5 * 0.9 * 0.1]
    np.testing.assert_allclose(got[0], expected)
    # a sure click at the top ends the scan
    sure = click_probabilities(np.array([[1.0, 0.7, 0.7]]), np.ones(3), ClickModel.CASCADE, 0.0)
    np.testing.assert_allclose(sure[0], [1.0, 0.0, 0.0])


def test_cascade_samples_stop_after_the_first_click() -> None:
    rng = np.random.default_rng(0)
    a = np.full((20_000, 5), 0.3)
    clicks = sample_clicks(a, np.ones(5), ClickModel.CASCADE, 0.1, rng)
    assert clicks.sum(axis=1).max() == 1
    expected = click_probabilities(a, np.ones(5), ClickModel.CASCADE, 0.1)[0]
    np.testing.assert_allclose(clicks.mean(axis=0), expected, atol=0.01)


def test_pbm_samples_match_their_probabilities() -> None:
    rng = np.random.default_rng(1)
    a = np.tile([0.5, 0.4, 0.3], (40_000, 1))
    e = np.array([1.0, 0.5, 0.25])
    clicks = sample_clicks(a, e, ClickModel.PBM, 0.0, rng)
    np.testing.assert_allclose(clicks.mean(axis=0), a[0] * e, atol=0.01)


def test_examination_extends_with_geometric_decay() -> None:
    cfg = BehaviourConfig(examination=(1.0, 0.8), examination_decay=0.5)
    assert cfg.examination_probabilities(4) == (1.0, 0.8, 0.4, 0.2)
    assert cfg.examination_probabilities(1) == (1.0,)
    default = BehaviourConfig().examination_probabilities(10)
    assert default[:3] == (1.0, 0.95, 0.85)
    assert all(x > y for x, y in itertools.pairwise(default))


def test_fatigue_counts_earlier_repeats_scaled_by_variety() -> None:
    cfg = BehaviourConfig(
        fatigue_leaf=0.1,
        fatigue_brand=0.2,
        fatigue_duplicate=0.5,
        fatigue_base=0.5,
        fatigue_variety=1.0,
    )
    leaf = np.array([[0, 0, 0, 1]])
    brand = np.array([[7, 7, 8, -1]])
    got = list_fatigue(leaf, brand, np.array([[0.5]]), cfg)
    # position 2: same leaf + same brand as position 1 -> 0.1 + 0.2 + 0.5; position 3: two
    # earlier of its leaf, none of its brand -> 0.2; position 4: new leaf, unbranded -> 0
    np.testing.assert_allclose(got[0], np.array([0.0, 0.8, 0.2, 0.0]) * (0.5 + 0.5))
    keen = list_fatigue(leaf, brand, np.array([[1.0]]), cfg)
    assert (keen[0, 1:3] > got[0, 1:3]).all()


def test_repetitive_list_and_repeated_exposure_lower_clicks() -> None:
    cfg = BehaviourConfig()
    varied = neutral_list(1, 5)
    same = neutral_list(
        1, 5, leaf=np.zeros((1, 5), dtype=np.int64), brand=np.zeros((1, 5), dtype=np.int64)
    )
    seen = neutral_list(1, 5, seen_before=np.ones((1, 5)))
    a_varied = funnel(varied, cfg, -3.0).attraction
    a_same = funnel(same, cfg, -3.0).attraction
    a_seen = funnel(seen, cfg, -3.0).attraction
    assert a_same[0, 0] == pytest.approx(a_varied[0, 0])
    assert (a_same[0, 1:] < a_varied[0, 1:]).all()
    assert np.all(np.diff(a_same[0]) < 0)
    assert (a_seen < a_varied).all()


def test_variety_seekers_gain_more_from_a_diverse_list() -> None:
    cfg = BehaviourConfig()

    def clicks(variety: float, diverse: bool) -> float:
        rep = np.zeros((1, 6), dtype=np.int64)
        kw = {} if diverse else {"leaf": rep, "brand": rep}
        s = neutral_list(1, 6, variety=np.array([[variety]]), **kw)
        f = funnel(s, cfg, -3.0)
        return float(expected_feedback(f, s, np.ones(6), cfg).clicks.sum())

    gain_keen = clicks(0.95, True) / clicks(0.95, False)
    gain_settled = clicks(0.05, True) / clicks(0.05, False)
    assert gain_keen > gain_settled > 1.0


def test_funnel_exact_values_and_stock() -> None:
    cfg = BehaviourConfig(cart_rate=0.2, purchase_rate=0.4)
    s = neutral_list(1, 2, in_stock=np.array([[True, False]]))
    f = funnel(s, cfg, click_intercept=np.log(0.25 / 0.75))
    np.testing.assert_allclose(f.attraction, 0.25)  # distinct, average items: no fatigue
    np.testing.assert_allclose(f.cart, [[0.2, 0.0]])
    np.testing.assert_allclose(f.purchase, 0.4)
    fb = expected_feedback(f, s, np.array([1.0, 0.5]), cfg)
    np.testing.assert_allclose(fb.clicks, [[0.25, 0.125]])
    np.testing.assert_allclose(fb.carts, [[0.05, 0.0]])
    np.testing.assert_allclose(fb.purchases, [[0.02, 0.0]])
    np.testing.assert_allclose(fb.revenue, [[0.4, 0.0]])
    np.testing.assert_allclose(fb.margin, [[0.1, 0.0]])


def test_price_lowers_purchase_but_dear_items_can_earn_more() -> None:
    cfg = BehaviourConfig()
    fit = np.array([[-1.0, 0.0, 1.0, 2.0]])
    s = neutral_list(1, 4, price_fit=fit, price_sensitivity=np.array([[0.4]]))
    f = funnel(s, cfg, -3.0)
    assert np.all(np.diff(f.purchase[0]) < 0)
    assert np.all(np.diff(f.attraction[0]) < 0)
    # a price 2x per z unit (sd 0.75 in log) outgrows the fall in conversion for this shopper
    price = 20.0 * np.exp(0.75 * fit)
    fb = expected_feedback(f, replace(s, price=price), np.ones(4), cfg)
    assert np.all(np.diff(fb.revenue[0]) > 0)
    assert np.all(np.diff(fb.purchases[0]) < 0)


def test_sampled_feedback_is_consistent() -> None:
    cfg = BehaviourConfig(cart_rate=0.5, purchase_rate=0.5)
    s = neutral_list(50_000, 3)
    f = funnel(s, cfg, 0.0)
    fb = sample_feedback(f, s, np.ones(3), cfg, np.random.default_rng(3))
    assert (fb.carts <= fb.clicks).all() and (fb.purchases <= fb.carts).all()
    np.testing.assert_array_equal(fb.revenue, fb.purchases * 20.0)
    exp = expected_feedback(f, s, np.ones(3), cfg)
    np.testing.assert_allclose(fb.purchases.mean(axis=0), exp.purchases[0], atol=0.01)
    for name, value in fb.as_dict().items():
        assert value.shape == (50_000, 3), name
