"""One set of rules for the objective weights w, whichever stage reads them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from paretorec.preference import (
    Preference,
    PreferenceError,
    check_simplex,
    normalized,
    simplex_grid,
    simplex_lattice,
)

NAMES = ("clicks", "revenue", "diversity")


def test_of_scales_raw_weights_and_fills_absent_names_with_zero() -> None:
    w = Preference.of(NAMES, {"clicks": 3.0, "revenue": 1.0})
    assert w.as_dict() == {"clicks": 0.75, "revenue": 0.25, "diversity": 0.0}
    assert w["revenue"] == 0.25


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"click": 1.0}, "unknown objective.*'click'.*clicks, revenue, diversity"),
        ({"clicks": -1.0, "revenue": 2.0}, "non-negative"),
        ({"clicks": float("nan")}, "finite"),
        ({"clicks": 0.0}, "sum to 0"),
    ],
)
def test_of_refuses_what_is_no_trade_off(raw: dict[str, float], message: str) -> None:
    with pytest.raises(PreferenceError, match=message):
        Preference.of(NAMES, raw)


def test_weights_at_the_float_limit_do_not_overflow() -> None:
    w = Preference.of(NAMES, {"clicks": 1e308, "revenue": 1e308})
    assert w.as_dict() == {"clicks": 0.5, "revenue": 0.5, "diversity": 0.0}


@given(st.lists(st.floats(0, 1e300), min_size=1, max_size=6).filter(lambda v: max(v) > 0))
def test_normalized_weights_lie_on_the_simplex(raw: list[float]) -> None:
    w = normalized(raw, len(raw))
    assert np.all(w >= 0) and abs(w.sum() - 1.0) < 1e-9
    check_simplex(w, len(raw))


def test_check_simplex_repeats_one_vector_for_every_request() -> None:
    assert check_simplex([0.25, 0.75], 2, n_requests=3).shape == (3, 2)
    with pytest.raises(PreferenceError, match="3 rows for 2 requests"):
        check_simplex(np.full((3, 2), 0.5), 2, n_requests=2)
    with pytest.raises(PreferenceError, match="sum to 1"):
        check_simplex([0.5, 0.6], 2)


def test_a_preference_is_immutable_and_compares_by_value() -> None:
    w = Preference.uniform(("a", "b"))
    with pytest.raises(ValueError, match="read-only"):
        w.weights[0] = 1.0
    assert w == Preference(("a", "b"), np.array([0.5, 0.5]))
    with pytest.raises(PreferenceError, match="repeat"):
        Preference(("a", "a"), np.array([0.5, 0.5]))


def test_the_lattice_is_the_largest_grid_within_the_budget() -> None:
    assert simplex_grid(3, 2).tolist()[:3] == [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5]]
    assert simplex_lattice(3, 30).shape == (28, 3)  # 6 divisions: C(8, 2) = 28 <= 30 < 36
    assert simplex_lattice(3, 3).shape == (3, 3)
    with pytest.raises(PreferenceError, match="below the 3 corners"):
        simplex_lattice(3, 2)
