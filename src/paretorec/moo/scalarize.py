"""Scalarizations: many per-objective scores into one score, larger is better.

Each takes ``values`` of shape (n, m), one row per thing being scored (a candidate item
with its per-objective scores, or a ranked list with its objective values), each column
oriented so that larger is better, and returns (n,) scores:

- weighted sum: ``R_i = Σ_k w_k y_ik``;
- Chebyshev (Tchebycheff): ``R_i = -max_k w_k (z*_k - y_ik) - ρ Σ_k (z*_k - y_ik)``, the
  negated weighted distance to the ideal point z* (by default the column maxima), with
  an optional augmentation ρ ≥ 0 that breaks ties toward Pareto-optimal points; unlike
  the weighted sum it reaches points on non-convex parts of a front;
- ε-constraint: ``R_i = y_i,target`` where every constrained column reaches its lower
  bound, else ``-1 - Σ violations`` (so, for values in [0, 1], every feasible row beats
  every infeasible one, and among the infeasible the nearer is better).

Weights are checked by `paretorec.preference.check_simplex` (finite, non-negative, one
per objective, summing to 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from paretorec.preference import check_simplex

__all__ = [
    "Scalarization",
    "chebyshev",
    "epsilon_constraint",
    "scalarize",
    "weighted_sum",
]

FloatArray = NDArray[np.float64]


class Scalarization(StrEnum):
    WEIGHTED_SUM = "weighted-sum"
    CHEBYSHEV = "chebyshev"


def _values(values: ArrayLike) -> FloatArray:
    try:
        v = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"values must be numbers: {error}") from None
    if v.ndim != 2 or v.shape[1] == 0:
        raise ValueError(f"values must be a 2-D array (n, n_objectives), got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError("values must be finite")
    return v


def weighted_sum(values: ArrayLike, weights: ArrayLike) -> FloatArray:
    """``Σ_k w_k y_ik`` for each row i."""
    v = _values(values)
    w = check_simplex(weights, v.shape[1])
    out: FloatArray = v @ w
    return out


def chebyshev(
    values: ArrayLike,
    weights: ArrayLike,
    *,
    ideal: ArrayLike | None = None,
    rho: float = 0.0,
) -> FloatArray:
    """Negated (augmented) weighted Chebyshev distance to `ideal` (default: the column
    maxima of `values`); larger is better, 0 at the ideal point."""
    v = _values(values)
    w = check_simplex(weights, v.shape[1])
    if not (np.isfinite(rho) and rho >= 0):
        raise ValueError(f"rho must be finite and >= 0, got {rho}")
    z = v.max(axis=0) if ideal is None else np.asarray(ideal, dtype=np.float64)
    if z.shape != (v.shape[1],) or not np.all(np.isfinite(z)):
        raise ValueError(f"ideal must be {v.shape[1]} finite value(s), got {z!r}")
    gap = z - v
    out: FloatArray = -(w * gap).max(axis=1) - rho * gap.sum(axis=1)
    return out


def epsilon_constraint(
    values: ArrayLike, *, target: int, lower_bounds: Mapping[int, float]
) -> FloatArray:
    """``y_target`` where ``y_j >= lower_bounds[j]`` for every constrained j, else
    ``-1 - Σ_j max(0, lower_bounds[j] - y_j)``."""
    v = _values(values)
    m = v.shape[1]
    if isinstance(target, bool) or not isinstance(target, int | np.integer) or not 0 <= target < m:
        raise ValueError(f"target must be an objective index in [0, {m}), got {target!r}")
    if not lower_bounds:
        raise ValueError("epsilon_constraint needs at least one lower bound")
    violation = np.zeros(v.shape[0])
    for j, bound in lower_bounds.items():
        if not 0 <= j < m or j == target:
            raise ValueError(f"a bound must be on another objective in [0, {m}), got index {j}")
        if not np.isfinite(bound):
            raise ValueError(f"bound on objective {j} must be finite, got {bound}")
        violation += np.maximum(0.0, bound - v[:, j])
    out: FloatArray = np.where(violation > 0, -1.0 - violation, v[:, target])
    return out


def scalarize(
    values: ArrayLike, weights: ArrayLike, how: Scalarization, *, rho: float = 0.0
) -> FloatArray:
    """The weighted sum or the Chebyshev score of each row (see the module docstring)."""
    if how is Scalarization.WEIGHTED_SUM:
        return weighted_sum(values, weights)
    return chebyshev(values, weights, rho=rho)
