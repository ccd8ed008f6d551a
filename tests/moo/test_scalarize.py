"""Scalarizations: exact values, the non-convex point only Chebyshev reaches, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from paretorec.moo import (
    Scalarization,
    chebyshev,
    epsilon_constraint,
    scalarize,
    weighted_sum,
)
from paretorec.preference import check_simplex as check_weights

VALUES = np.array([[1.0, 0.0], [0.0, 1.0], [0.4, 0.4]])


def test_weighted_sum_exact() -> None:
    np.testing.assert_allclose(weighted_sum(VALUES, [0.25, 0.75]), [0.25, 0.75, 0.4])


def test_chebyshev_exact_and_ideal() -> None:
    # ideal (1, 1): distances max(0.5 * gap): 0.5, 0.5, 0.3
    np.testing.assert_allclose(chebyshev(VALUES, [0.5, 0.5]), [-0.5, -0.5, -0.3])
    np.testing.assert_allclose(chebyshev(VALUES, [0.5, 0.5], ideal=[2.0, 2.0]), [-1.0, -1.0, -0.8])
    # augmentation subtracts rho * total gap
    np.testing.assert_allclose(chebyshev(VALUES, [0.5, 0.5], rho=0.1), [-0.6, -0.6, -0.42])


def test_only_chebyshev_reaches_the_non_convex_point() -> None:
    grid = [np.array([w, 1.0 - w]) for w in np.linspace(0.0, 1.0, 101)]
    assert all(int(np.argmax(weighted_sum(VALUES, w))) != 2 for w in grid)
    assert any(int(np.argmax(chebyshev(VALUES, w))) == 2 for w in grid)
    assert scalarize(VALUES, [0.5, 0.5], Scalarization.CHEBYSHEV).argmax() == 2


def test_epsilon_constraint_ranks_feasible_first() -> None:
    values = np.array([[0.9, 0.5], [0.95, 0.8], [0.99, 0.9], [0.5, 0.2]])
    # most of column 1 subject to column 0 >= 0.95
    scores = epsilon_constraint(values, target=1, lower_bounds={0: 0.95})
    np.testing.assert_allclose(scores, [-1.05, 0.8, 0.9, -1.45])
    assert int(np.argmax(scores)) == 2


@given(
    arrays(np.float64, (7, 3), elements=st.floats(0, 1)),
    st.integers(0, 2),
)
@settings(max_examples=50, deadline=None)
def test_corner_weights_pick_one_column(values: np.ndarray, j: int) -> None:
    w = np.eye(3)[j]
    np.testing.assert_allclose(weighted_sum(values, w), values[:, j])
    # Chebyshev at a corner: minus the gap to that column's best
    np.testing.assert_allclose(chebyshev(values, w), values[:, j] - values[:, j].max())


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([0.5, 0.6], "sum to 1"),
        ([1.5, -0.5], "non-negative"),
        ([1.0], "one weight per objective"),
        ([np.nan, 1.0], "finite"),
        (["a", "b"], "numbers"),
    ],
)
def test_bad_weights(weights: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_weights(weights, 2)
    with pytest.raises(ValueError, match=message):
        weighted_sum(VALUES, weights)


def test_bad_values_and_bounds() -> None:
    with pytest.raises(ValueError, match="2-D"):
        weighted_sum(np.ones(3), [1.0])
    with pytest.raises(ValueError, match="target"):
        epsilon_constraint(VALUES, target=5, lower_bounds={0: 0.1})
    with pytest.raises(ValueError, match="another objective"):
        epsilon_constraint(VALUES, target=0, lower_bounds={0: 0.1})
    with pytest.raises(ValueError, match="at least one"):
        epsilon_constraint(VALUES, target=0, lower_bounds={})
    with pytest.raises(ValueError, match="rho"):
        chebyshev(VALUES, [0.5, 0.5], rho=-1.0)
