"""Weights on the simplex and the grid of w swept at serving time."""

from __future__ import annotations

import math

import numpy as np
import pytest

from paretorec.preference import check_simplex as check_weights
from paretorec.preference import sample_simplex, simplex_grid


def test_simplex_grid_of_three_objectives_in_thirds() -> None:
    grid = simplex_grid(3, 3)
    assert grid.shape == (math.comb(5, 2), 3)
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)
    assert grid[0].tolist() == [1.0, 0.0, 0.0]
    assert len({tuple(r) for r in grid.round(9)}) == grid.shape[0]


def test_sampled_weights_lie_on_the_simplex() -> None:
    w = sample_simplex(np.random.default_rng(0), 500, 4)
    assert (w >= 0).all()
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(w.mean(axis=0), 0.25, atol=0.03)


def test_one_weight_vector_serves_every_request() -> None:
    assert check_weights([0.25, 0.75], 2, n_requests=3).shape == (3, 2)
    with pytest.raises(ValueError, match="3 rows for 2 requests"):
        check_weights(np.full((3, 2), 0.5), 2, n_requests=2)


def test_a_concentration_below_one_puts_more_weights_near_the_corners() -> None:
    rng = np.random.default_rng(0)
    uniform = sample_simplex(rng, 4000, 3).max(axis=1)
    cornered = sample_simplex(rng, 4000, 3, concentration=0.3).max(axis=1)
    assert (cornered > 0.9).mean() > 2 * (uniform > 0.9).mean()
    np.testing.assert_allclose(sample_simplex(rng, 50, 3, concentration=0.3).sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="concentration"):
        sample_simplex(rng, 5, 3, concentration=0.0)
