"""Choosing one point of a Pareto front: knee, compromise, or best under constraints.

Every selector takes any point set with its directions, considers only its Pareto front
(a dominated point is never chosen) and returns a `Selection` whose `index` refers to the
input rows.  Knee and compromise work in the front's normalized space: maximized
objectives negated, then each objective scaled so that the front's ideal (best) value is
0 and its nadir (worst) value is 1 (an objective constant on the front becomes 0).
Ties go to the lowest index.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from paretorec.moo.pareto import Direction, Directions, _front_mask_min, _minimized, _signs
from paretorec.preference import normalized

__all__ = [
    "NoFeasiblePointError",
    "Selection",
    "SelectionMethod",
    "Threshold",
    "select_compromise",
    "select_constrained",
    "select_knee",
]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]


class SelectionMethod(StrEnum):
    KNEE = "knee"
    COMPROMISE = "compromise"
    CONSTRAINED = "constrained"


@dataclass(frozen=True, eq=False)
class Selection:
    """The chosen point.

    `score` depends on the method: knee, the normalized distance to the hyperplane
    through the extremes (positive when the point bulges toward the ideal point);
    compromise, the weighted p-norm distance to the ideal point in normalized space;
    constrained, the chosen point's value of the target objective.  `front` holds the
    indices of the Pareto front the choice was made from, `n_candidates` how many of its
    points were eligible (all of them, except under thresholds).
    """

    index: int
    point: FloatArray
    method: SelectionMethod
    score: float
    front: IndexArray
    n_candidates: int


_THRESHOLD_RTOL = 1e-12


class NoFeasiblePointError(ValueError):
    """No point meets every threshold of `select_constrained`."""


@dataclass(frozen=True)
class Threshold:
    """A lower bound (maximized objective) or upper bound (minimized objective) on one
    objective, in its own units: either `bound`, absolute, or `fraction_of_best`, a
    multiple of the best value over the points (``Threshold(1, fraction_of_best=0.97)``
    on a maximized NDCG column reads "NDCG ≥ 97% of the best"; on a minimized latency
    column, ``fraction_of_best=1.1`` reads "latency ≤ 110% of the best").  A fraction
    needs a positive best value.  Exactly one of the two must be given.
    """

    objective: int
    bound: float | None = None
    fraction_of_best: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.objective, bool) or not isinstance(self.objective, int | np.integer):
            raise ValueError(f"objective must be an int index, got {self.objective!r}")
        if self.objective < 0:
            raise ValueError(f"objective must be a non-negative index, got {self.objective}")
        if (self.bound is None) == (self.fraction_of_best is None):
            raise ValueError("give exactly one of bound and fraction_of_best")
        if self.bound is not None and not math.isfinite(self.bound):
            raise ValueError(f"bound must be finite, got {self.bound}")
        if self.fraction_of_best is not None and not (
            math.isfinite(self.fraction_of_best) and self.fraction_of_best > 0
        ):
            raise ValueError(f"fraction_of_best must be positive, got {self.fraction_of_best}")


def select_knee(points: ArrayLike, directions: Directions) -> Selection:
    """The knee: the front point farthest from the hyperplane through the extremes.

    Das's (1999) characterization: in normalized space, the hyperplane (a line in 2-D)
    through the m extreme points (the best point in each objective; the "convex hull of
    individual minima") and, among the front points, the one at the largest signed
    distance from it on the ideal point's side.  Should the extremes not span a
    hyperplane, the plane through the unit vectors (sum of normalized objectives = 1) is
    used.  On a linear or concave front no point bulges out; the score is then ≤ 0.
    O(n log n + n m + m³).
    """
    arr, front, z = _front_space(points, directions)
    m = z.shape[1]
    extremes = np.empty((m, m))
    for j in range(m):
        # best in objective j; ties broken by the sum of the others
        keys = (z.sum(axis=1), z[:, j])
        extremes[j] = z[np.lexsort(keys)[0]]
    normal: FloatArray = np.ones(m)
    if np.linalg.matrix_rank(extremes) == m:
        candidate = np.asarray(np.linalg.solve(extremes, np.ones(m)), dtype=np.float64)
        if np.all(np.isfinite(candidate)):
            normal = candidate
    distance = (1.0 - z @ normal) / float(np.linalg.norm(normal))
    best = int(np.argmax(distance))
    return _result(arr, front, best, SelectionMethod.KNEE, float(distance[best]), len(front))


def select_compromise(
    points: ArrayLike,
    directions: Directions,
    *,
    weights: ArrayLike | None = None,
    p: float = 2.0,
) -> Selection:
    """The compromise point: the front point closest to the ideal point.

    Distance ``(Σ_j w_j z_j^p)^(1/p)`` in normalized space (z_j ∈ [0, 1], the ideal at 0);
    ``p=math.inf`` gives the weighted Chebyshev distance ``max_j w_j z_j``.  `weights`
    (non-negative, one per objective, scaled to sum to 1; equal by default) say how much
    being far from the best value of each objective costs.  O(n log n + n m).
    """
    arr, front, z = _front_space(points, directions)
    m = z.shape[1]
    w = np.full(m, 1.0 / m) if weights is None else normalized(weights, m)
    if not (isinstance(p, int | float) and not isinstance(p, bool) and p >= 1):
        raise ValueError(f"p must be a number >= 1 (or math.inf), got {p!r}")
    scaled = w * z if math.isinf(p) else w * z**p
    distance = scaled.max(axis=1) if math.isinf(p) else scaled.sum(axis=1) ** (1.0 / p)
    best = int(np.argmin(distance))
    return _result(arr, front, best, SelectionMethod.COMPROMISE, float(distance[best]), len(front))


def select_constrained(
    points: ArrayLike,
    directions: Directions,
    *,
    objective: int,
    thresholds: Threshold | Sequence[Threshold] = (),
) -> Selection:
    """The best point in `objective` among those meeting every threshold on the others.

    E.g. "the most revenue with NDCG ≥ 97% of the best": ``objective=revenue_column,
    thresholds=[Threshold(ndcg_column, fraction_of_best=0.97)]``.  The best value for a
    fraction is taken over all points.  Ties in `objective` go to the point best in the
    other objectives taken in order.  The choice is always Pareto-optimal: whatever
    dominates a feasible point is feasible too.  Raises `NoFeasiblePointError` when no
    point qualifies.  O(n log n + n m).
    """
    mins, dirs = _minimized(points, directions)
    arr = mins * _signs(dirs)
    n, m = arr.shape
    if isinstance(objective, bool) or not isinstance(objective, int | np.integer):
        raise ValueError(f"objective must be an int index, got {objective!r}")
    if not 0 <= objective < m:
        raise ValueError(f"objective {objective} is out of range for {m} objective(s)")
    if isinstance(thresholds, Threshold):
        thresholds = [thresholds]
    feasible = np.ones(n, dtype=bool)
    for t in thresholds:
        if not isinstance(t, Threshold):
            raise ValueError(f"thresholds must be Threshold objects, got {t!r}")
        if t.objective >= m:
            raise ValueError(f"threshold objective {t.objective} is out of range for {m}")
        if t.objective == objective:
            raise ValueError(f"objective {objective} is the target; it cannot be thresholded")
        column = arr[:, t.objective]
        maximize = dirs[t.objective] is Direction.MAXIMIZE
        if t.bound is not None:
            limit = t.bound
        else:
            best = float(column.max() if maximize else column.min())
            if best <= 0:
                raise ValueError(
                    f"fraction_of_best needs a positive best value; objective "
                    f"{t.objective} has best {best}: use bound instead"
                )
            limit = float(t.fraction_of_best or 0.0) * best
        # A relative tolerance, so 0.72 meets "90% of 0.8" despite 0.9 * 0.8 = 0.7200000000000001.
        slack = _THRESHOLD_RTOL * max(abs(limit), 1e-300)
        feasible &= column >= limit - slack if maximize else column <= limit + slack
    front_mask = _front_mask_min(mins)
    front = np.flatnonzero(front_mask).astype(np.intp)
    candidates = np.flatnonzero(front_mask & feasible)
    if candidates.size == 0:
        raise NoFeasiblePointError(
            f"no point meets the thresholds {list(thresholds)} "
            f"({int(feasible.sum())} feasible of {n})"
        )
    others = [j for j in range(m) if j != objective]
    keys = [mins[candidates, j] for j in reversed(others)] + [mins[candidates, objective]]
    chosen = int(candidates[np.lexsort(keys)[0]])
    position = int(np.searchsorted(front, chosen))
    return _result(
        arr,
        front,
        position,
        SelectionMethod.CONSTRAINED,
        float(arr[chosen, objective]),
        int(candidates.size),
    )


# ---------------------------------------------------------------------------- helpers


def _front_space(
    points: ArrayLike, directions: Directions
) -> tuple[FloatArray, IndexArray, FloatArray]:
    """The points, the indices of their front, and the front in normalized space."""
    mins, dirs = _minimized(points, directions)
    front = np.flatnonzero(_front_mask_min(mins)).astype(np.intp)
    f = mins[front]
    ideal, nadir = f.min(axis=0), f.max(axis=0)
    span = nadir - ideal
    span[span == 0] = 1.0
    return mins * _signs(dirs), front, (f - ideal) / span


def _result(
    arr: FloatArray,
    front: IndexArray,
    position: int,
    method: SelectionMethod,
    score: float,
    n_candidates: int,
) -> Selection:
    index = int(front[position])
    return Selection(
        index=index,
        point=arr[index].copy(),
        method=method,
        score=score,
        front=front,
        n_candidates=n_candidates,
    )
