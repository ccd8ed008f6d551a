"""Distance indicators of a point set against a reference front: GD, GD+, IGD, IGD+.

With A the points (n of them) and Z the reference front (r points), in minimization
(maximized objectives negated first):

- GD(A)   = mean over a in A of min over z in Z of ‖a − z‖            (Van Veldhuizen 1998)
- IGD(A)  = mean over z in Z of min over a in A of ‖a − z‖            (Coello & Reyes 2004)
- GD+(A)  = mean over a of min over z of ‖max(a − z, 0)‖             (Ishibuchi et al. 2015)
- IGD+(A) = mean over z of min over a of ‖max(a − z, 0)‖

Means of nearest distances, as in pymoo (not the ``(Σ d^p)^{1/p} / n`` variant).  GD+
and IGD+ count only how far a point is *worse* than the reference, which makes IGD+
weakly Pareto-compliant.  With ``normalize=True`` every objective is first divided by
its range over the reference front (pymoo's ``zero_to_one=True``; an objective with zero
range is left as it is).  GD and IGD use a k-d tree (O((n + r) log r)).  GD+ and IGD+
compare pairs in blocks (bounded memory), after dropping the candidates that cannot be
nearest: for IGD+ a point dominated by another point is never closer to any z than its
dominator, so only A's Pareto front is searched; for GD+, symmetrically, only the
reference points no other reference point is worse than.  O(n r' m) for r' kept.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from paretorec.moo.pareto import Directions, _front_mask_min, _minimized, _points, _signs

__all__ = ["gd", "gd_plus", "igd", "igd_plus"]

FloatArray = NDArray[np.float64]


def gd(
    points: ArrayLike,
    reference_front: ArrayLike,
    directions: Directions,
    *,
    normalize: bool = False,
) -> float:
    """Generational distance: mean distance from each point to the reference front."""
    a, z = _pair(points, reference_front, directions, normalize)
    return _mean_nearest(a, z)


def igd(
    points: ArrayLike,
    reference_front: ArrayLike,
    directions: Directions,
    *,
    normalize: bool = False,
) -> float:
    """Inverted generational distance: mean distance from each reference point to the
    points."""
    a, z = _pair(points, reference_front, directions, normalize)
    return _mean_nearest(z, a)


def gd_plus(
    points: ArrayLike,
    reference_front: ArrayLike,
    directions: Directions,
    *,
    normalize: bool = False,
) -> float:
    """GD+: mean over the points of the dominance-aware distance to the nearest
    reference point, ‖max(a − z, 0)‖."""
    a, z = _pair(points, reference_front, directions, normalize)
    return _mean_nearest_plus(worse=a, better=z, over_worse=True)


def igd_plus(
    points: ArrayLike,
    reference_front: ArrayLike,
    directions: Directions,
    *,
    normalize: bool = False,
) -> float:
    """IGD+: mean over the reference points of the dominance-aware distance to the
    nearest point, ‖max(a − z, 0)‖."""
    a, z = _pair(points, reference_front, directions, normalize)
    return _mean_nearest_plus(worse=a, better=z, over_worse=False)


def _pair(
    points: ArrayLike, reference_front: ArrayLike, directions: Directions, normalize: bool
) -> tuple[FloatArray, FloatArray]:
    a, dirs = _minimized(points, directions)
    z = _points(reference_front, name="reference_front")
    if z.shape[1] != a.shape[1]:
        raise ValueError(f"reference_front has {z.shape[1]} objective(s), points have {a.shape[1]}")
    z = z * _signs(dirs)
    if normalize:
        span = z.max(axis=0) - z.min(axis=0)
        span[span == 0] = 1.0
        a, z = a / span, z / span
    return a, z


def _mean_nearest(queries: FloatArray, targets: FloatArray) -> float:
    """Mean over `queries` of the Euclidean distance to the nearest of `targets`."""
    distances, _ = cKDTree(targets).query(queries, k=1)
    return float(np.mean(distances))


def _mean_nearest_plus(worse: FloatArray, better: FloatArray, *, over_worse: bool) -> float:
    """Mean of min ‖max(w − b, 0)‖, over w (min over b) or over b (min over w)."""
    queries, targets = (worse, better) if over_worse else (better, worse)
    # Only targets that are minimal (IGD+: a point) or maximal (GD+: a reference point)
    # can be nearest.
    targets = targets[_front_mask_min(-targets if over_worse else targets)]
    n, m = queries.shape
    block = max(1, 1_000_000 // len(targets))
    nearest = np.empty(n)
    sign = 1.0 if over_worse else -1.0  # the clipped difference is worse - better
    for start in range(0, n, block):
        q = queries[start : start + block]
        squared = np.zeros((len(q), len(targets)))
        for j in range(m):
            diff = sign * (q[:, j, None] - targets[None, :, j])
            np.maximum(diff, 0.0, out=diff)
            squared += diff * diff
        nearest[start : start + block] = np.sqrt(squared.min(axis=1))
    return float(np.mean(nearest))
