"""Paired bootstrap: hand-checked intervals, invariants, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paretorec.evaluate.paired import paired_bootstrap

values = st.lists(
    st.floats(min_value=-10, max_value=10, allow_nan=False, allow_infinity=False),
    min_size=2,
    max_size=30,
)


def test_two_units_one_apart_give_the_interval_0_to_1_which_is_not_significant() -> None:
    # differences (0, 1): replicate means 0, 0.5, 1 with chances 1/4, 1/2, 1/4, so the
    # 2.5% and 97.5% percentiles are 0 and 1; an interval touching 0 does not exclude it.
    found = paired_bootstrap([3.0, 5.0], [3.0, 4.0], n_bootstrap=4000, seed=1)
    assert found.difference == pytest.approx(0.5)
    assert (found.lower, found.upper) == (0.0, 1.0)
    assert not found.significant
    assert found.mean_a == pytest.approx(4.0) and found.mean_b == pytest.approx(3.5)
    assert found.n == 2


def test_differences_1_2_3_give_the_interval_1_to_3_which_is_significant() -> None:
    # every replicate mean is in [1, 3]; each end has chance 1/27 > 2.5% of being drawn
    found = paired_bootstrap([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], n_bootstrap=4000, seed=0)
    assert found.difference == pytest.approx(2.0)
    assert (found.lower, found.upper) == (1.0, 3.0)
    assert found.significant
    assert found.interval_text(2) == "+2.00 [+1.00, +3.00]"


def test_equal_scores_are_never_significant() -> None:
    found = paired_bootstrap([0.2, 0.4, 0.1], [0.2, 0.4, 0.1])
    assert (found.difference, found.lower, found.upper) == (0.0, 0.0, 0.0)
    assert not found.significant


def test_a_clear_loss_is_significant_with_an_interval_below_zero() -> None:
    rng = np.random.default_rng(0)
    b = rng.random(500)
    a = b - 0.05 + rng.normal(0, 0.05, 500)
    found = paired_bootstrap(a, b, seed=3)
    assert found.upper < 0 and found.significant
    assert found.lower < found.difference < found.upper
    assert found.as_dict()["significant"] is True


def test_the_same_seed_gives_the_same_interval_and_another_seed_may_not() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.random(50), rng.random(50)
    assert paired_bootstrap(a, b, seed=5) == paired_bootstrap(a, b, seed=5)
    assert paired_bootstrap(a, b, seed=5) != paired_bootstrap(a, b, seed=6)


@settings(max_examples=60, deadline=None)
@given(values, st.integers(0, 2**16))
def test_interval_lies_within_the_smallest_and_largest_difference(
    diffs: list[float], seed: int
) -> None:
    d = np.array(diffs)
    found = paired_bootstrap(d, np.zeros_like(d), n_bootstrap=200, seed=seed)
    assert d.min() - 1e-9 <= found.lower <= found.upper <= d.max() + 1e-9


@settings(max_examples=60, deadline=None)
@given(values, st.integers(0, 2**16))
def test_swapping_the_methods_mirrors_the_interval(diffs: list[float], seed: int) -> None:
    a = np.array(diffs)
    b = np.roll(a, 1) * 0.5
    ab = paired_bootstrap(a, b, n_bootstrap=200, seed=seed)
    ba = paired_bootstrap(b, a, n_bootstrap=200, seed=seed)
    assert ba.difference == pytest.approx(-ab.difference, abs=1e-9)
    assert ba.lower == pytest.approx(-ab.upper, abs=1e-9)
    assert ba.upper == pytest.approx(-ab.lower, abs=1e-9)
    assert ba.significant == ab.significant


@settings(max_examples=40, deadline=None)
@given(values, st.floats(min_value=-5, max_value=5), st.integers(0, 2**16))
def test_adding_a_constant_to_one_method_shifts_the_interval(
    diffs: list[float], shift: float, seed: int
) -> None:
    a = np.array(diffs)
    b = np.zeros_like(a)
    base = paired_bootstrap(a, b, n_bootstrap=200, seed=seed)
    moved = paired_bootstrap(a + shift, b, n_bootstrap=200, seed=seed)
    assert moved.lower == pytest.approx(base.lower + shift, abs=1e-9)
    assert moved.upper == pytest.approx(base.upper + shift, abs=1e-9)


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "message"),
    [
        ([1.0, 2.0], [1.0], {}, "same units: got 2 and 1"),
        ([1.0], [1.0], {}, "at least 2 units"),
        ([1.0, float("nan")], [1.0, 2.0], {}, r"a must be finite: a\[1\] is nan"),
        ([[1.0, 2.0]], [[1.0, 2.0]], {}, "a must be 1-dimensional"),
        ([1.0, 2.0], ["x", "y"], {}, "b must be numeric"),
        ([1.0, 2.0], [1.0, 2.0], {"alpha": 1.5}, "alpha must be a number in"),
        ([1.0, 2.0], [1.0, 2.0], {"n_bootstrap": 0}, "n_bootstrap must be at least 1"),
        ([1.0, 2.0], [1.0, 2.0], {"seed": 1.5}, "seed must be an integer"),
    ],
)
def test_bad_input_is_refused_in_one_line(
    a: object, b: object, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        paired_bootstrap(a, b, **kwargs)  # type: ignore[arg-type]
