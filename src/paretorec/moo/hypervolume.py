"""Hypervolume: the volume dominated by a point set and bounded by a reference point.

Points and the reference point are given in their own directions and normalized once
(maximized objectives negated).  A point that is not strictly better than the reference
point in every objective dominates no volume inside the reference box and contributes
nothing; it is dropped, not an error.  The reference point must have one finite value
per objective.

Algorithms (n points, m objectives, all minimization inside):

- m = 1: the distance from the best point to the reference.
- m = 2: sort and sweep, O(n log n).
- m = 3: the dimension-sweep HV3D algorithm (Beume et al., 2009): sweep along f3 while
  keeping the 2-D staircase of (f1, f2) and its area, updated per insertion;
  O(n log n) plus list insertions.
- m ≥ 4, exact: WFG (While, Bradstreet & Barone, 2012) with the points sorted by the last
  objective, worst first, so that every limit set shares one last value and the
  recursion drops a dimension per level, down to HV3D; the limit sets are reduced to
  their non-dominated points (vectorized Deb) above 3-D.  Exponential in m in the worst
  case; fine for a few hundred points in 4-5 objectives.
- m ≥ 4, Monte Carlo: uniform samples in the box between the front's ideal point and the
  reference point; value = box volume × dominated fraction, with its binomial standard
  error.  O(N n m) for N samples (points and samples sorted by f1, so a block of samples
  is compared only with the points that can dominate it).

- m ≥ 2, moocore: the C library moocore (Fonseca, Paquete, López-Ibáñez; HV4D+ in 4-D,
  inclusion-exclusion or a recursion on 4-D contributions above), exact and 10-100× faster
  than the WFG above in 4-5 objectives (BENCHMARKS.md, "Pareto tools against pymoo").

`hypervolume` with ``method="auto"`` uses our sweeps up to three objectives (exact and
fast) and moocore beyond (exact) up to ``MOOCORE_MAX_POINTS[m]`` non-dominated points
(about half a second on 2 cores: 100,000 in 4-D, 5,000 in 5-D, 500 in 6-D, 150 in 7-D,
80 in 8-D, 40 beyond), and a Monte Carlo estimate above, so its time stays bounded. ``method="exact"`` is our own exact algorithm at every
m: WFG is the oracle moocore is tested against on random fronts. Our WFG stays under about
half a second on 2 cores for up to ``EXACT_MAX_POINTS[m]`` non-dominated points (1,000 in
4-D, 300 in 5-D, 100 in 6-D, 40 in 7-D, 25 in 8-D, 16 beyond). ``method="monte_carlo"``
estimates (100,000 samples by default: about 0.1-0.3 s for 300-1,000 points in 5-D, a
relative standard error near 0.2%).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from paretorec.moo.pareto import Directions, _minimized, _signs, _unique_front_min

__all__ = [
    "EXACT_MAX_POINTS",
    "MOOCORE_MAX_POINTS",
    "HypervolumeMethod",
    "HypervolumeResult",
    "hypervolume",
    "hypervolume_exact",
    "hypervolume_monte_carlo",
]

FloatArray = NDArray[np.float64]

EXACT_MAX_POINTS: Final[dict[int, int]] = {4: 1000, 5: 300, 6: 100, 7: 40, 8: 25}
"""Largest front (after dropping dominated points) that our WFG computes in about half a
second, by number of objectives; 9+ objectives: ``DEFAULT_EXACT_MAX_POINTS``."""
DEFAULT_EXACT_MAX_POINTS: Final = 16
MOOCORE_MAX_POINTS: Final[dict[int, int]] = {4: 100_000, 5: 5_000, 6: 500, 7: 150, 8: 80}
"""Largest front `method="auto"` gives moocore (about half a second on 2 cores, measured
on fronts on the unit sphere), by number of objectives; 9+: ``DEFAULT_MOOCORE_MAX_POINTS``."""
DEFAULT_MOOCORE_MAX_POINTS: Final = 40
DEFAULT_SAMPLES: Final = 100_000


class HypervolumeMethod(StrEnum):
    AUTO = "auto"
    EXACT = "exact"  # ours: sweeps (m <= 3), WFG (m >= 4)
    MONTE_CARLO = "monte_carlo"
    MOOCORE = "moocore"


@dataclass(frozen=True)
class HypervolumeResult:
    """A hypervolume value; `std_error` is 0 for exact algorithms.

    `algorithm` is one of "sweep-1d", "sweep-2d", "hv3d", "wfg", "moocore", "monte-carlo";
    `n_points` counts the points strictly inside the reference box (the others add
    nothing);
    `n_samples` is the Monte Carlo sample size (0 when exact).
    """

    value: float
    std_error: float
    algorithm: str
    n_points: int
    n_samples: int = 0

    @property
    def exact(self) -> bool:
        return self.algorithm != "monte-carlo"


def hypervolume(
    points: ArrayLike,
    reference: ArrayLike,
    directions: Directions,
    *,
    method: HypervolumeMethod | str = HypervolumeMethod.AUTO,
    n_samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> HypervolumeResult:
    """Hypervolume of `points` (n, m) against `reference` (m,), exact or estimated.

    ``method="auto"``: our exact sweeps for m ≤ 3, moocore (exact) for m ≥ 4 up to
    ``MOOCORE_MAX_POINTS[m]`` points, Monte Carlo above;
    ``"exact"``: ours at every m (WFG for m ≥ 4); ``"moocore"``: moocore at every m ≥ 2;
    ``"monte_carlo"``: an estimate from `n_samples` samples drawn with `seed`.  An empty
    point set (shape (0, m)) has hypervolume 0.
    """
    front, ref, n_inside = _inside_front(points, reference, directions)
    try:
        how = HypervolumeMethod(method)
    except ValueError:
        raise ValueError(
            f"unknown method {method!r}: use one of {[x.value for x in HypervolumeMethod]}"
        ) from None
    n, m = front.shape
    if how is HypervolumeMethod.AUTO:
        if m <= 3:
            how = HypervolumeMethod.EXACT
        elif n <= MOOCORE_MAX_POINTS.get(m, DEFAULT_MOOCORE_MAX_POINTS):
            how = HypervolumeMethod.MOOCORE
        else:
            how = HypervolumeMethod.MONTE_CARLO
    if how is HypervolumeMethod.MOOCORE and m >= 2:
        value = _hv_moocore(front, ref) if n else 0.0
        return HypervolumeResult(value, 0.0, "moocore", n_inside)
    if how is not HypervolumeMethod.MONTE_CARLO or n == 0:
        return HypervolumeResult(_hv_exact(front, ref), 0.0, _exact_name(m), n_inside)
    return _monte_carlo(front, ref, n_samples, seed, n_inside)


def hypervolume_exact(points: ArrayLike, reference: ArrayLike, directions: Directions) -> float:
    """Exact hypervolume (sweep for m ≤ 3, WFG beyond; see the module docstring)."""
    front, ref, _ = _inside_front(points, reference, directions)
    return _hv_exact(front, ref)


def hypervolume_monte_carlo(
    points: ArrayLike,
    reference: ArrayLike,
    directions: Directions,
    *,
    n_samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> HypervolumeResult:
    """Monte Carlo hypervolume: `n_samples` uniform samples in the box spanned by the
    front's ideal point and the reference; the standard error is
    ``box · sqrt(p (1 - p) / n_samples)``.  O(n_samples · n · m)."""
    front, ref, n_inside = _inside_front(points, reference, directions)
    return _monte_carlo(front, ref, n_samples, seed, n_inside)


# ----------------------------------------------------------------------------- inputs


def _inside_front(
    points: ArrayLike, reference: ArrayLike, directions: Directions
) -> tuple[FloatArray, FloatArray, int]:
    """Minimized points strictly inside the reference box (for 4+ objectives reduced to
    the non-dominated ones, deduplicated), the minimized reference point, and how many
    points lie inside the box."""
    arr, dirs = _minimized(points, directions, allow_empty=True)
    m = arr.shape[1]
    ref = np.asarray(reference, dtype=np.float64)
    if ref.shape != (m,):
        raise ValueError(f"the reference point must have shape ({m},), got {ref.shape}")
    if not np.all(np.isfinite(ref)):
        raise ValueError(f"the reference point must be finite, got {ref.tolist()}")
    ref = ref * _signs(dirs)
    inside = arr[np.all(arr < ref, axis=1)]
    # The sweeps (m <= 3) need no filtering; WFG and Monte Carlo gain from it.
    front = inside if m <= 3 else _unique_front_min(inside)
    return front, ref, len(inside)


def _exact_name(m: int) -> str:
    return {1: "sweep-1d", 2: "sweep-2d", 3: "hv3d"}.get(m, "wfg")


# -------------------------------------------------------------------------- algorithms
# All below take minimized points strictly inside the box of `ref`.


def _hv_exact(front: FloatArray, ref: FloatArray) -> float:
    n, m = front.shape
    if n == 0:
        return 0.0
    if m == 1:
        return float(ref[0] - front[:, 0].min())
    if m == 2:
        return _hv2d(front, ref)
    if m == 3:
        return _hv3d(front, ref)
    return _wfg(front, ref)


def _hv_moocore(front: FloatArray, ref: FloatArray) -> float:
    import moocore  # type: ignore[import-untyped]  # imported here: the C library loads only where it is used

    return float(moocore.hypervolume(np.ascontiguousarray(front), ref=ref))


def _hv2d(pts: FloatArray, ref: FloatArray) -> float:
    """Sort by f1 (then f2) and sum the slabs under the running minimum of f2.
    Dominated and duplicate points are harmless (a zero-width or zero-height slab)."""
    order = np.lexsort((pts[:, 1], pts[:, 0]))
    x = pts[order, 0]
    y = np.minimum.accumulate(pts[order, 1])
    widths = np.diff(np.append(x, ref[0]))
    return float(np.dot(widths, ref[1] - y))


def _hv3d(pts: FloatArray, ref: FloatArray) -> float:
    """HV3D dimension sweep along f3 with an incrementally maintained 2-D staircase."""
    order = np.argsort(pts[:, 2], kind="stable")
    rx, ry, rz = float(ref[0]), float(ref[1]), float(ref[2])
    xs: list[float] = []  # staircase, f1 ascending
    nys: list[float] = []  # -f2, ascending (f2 descending)
    area = 0.0
    volume = 0.0
    z_prev = 0.0
    for k, (x, y, z) in enumerate(pts[order].tolist()):
        if k:
            volume += area * (z - z_prev)
        z_prev = z
        i = bisect_right(xs, x)
        if i and -nys[i - 1] <= y:
            continue  # weakly dominated in (f1, f2) by a point with lower f3
        j0 = bisect_left(xs, x)
        j1 = bisect_right(nys, -y)  # entries j0..j1-1 have f1 >= x and f2 >= y
        height = -nys[j0 - 1] if j0 else ry
        left = x
        added = 0.0
        for j in range(j0, j1):
            added += (xs[j] - left) * (height - y)
            left, height = xs[j], -nys[j]
        right = xs[j1] if j1 < len(xs) else rx
        added += (right - left) * (height - y)
        area += added
        del xs[j0:j1], nys[j0:j1]
        xs.insert(j0, x)
        nys.insert(j0, -y)
    return volume + area * (rz - z_prev)


def _wfg(front: FloatArray, ref: FloatArray) -> float:
    """WFG on a non-dominated, duplicate-free set, points sorted worst-first by the last
    objective so that each limit set lies in one hyperplane of it (one dimension less)."""
    n, m = front.shape
    if m == 3:
        return _hv3d(front, ref)
    if n == 1:
        return float(np.prod(ref - front[0]))
    pts = front[np.argsort(-front[:, -1], kind="stable")]
    head, last = pts[:, :-1], pts[:, -1]
    sub_ref = ref[:-1]
    boxes = np.prod(sub_ref - head, axis=1)
    total = 0.0
    for k in range(n):
        excl = float(boxes[k])
        if k + 1 < n:
            limit = np.maximum(head[k + 1 :], head[k])
            if m > 4:  # the 2-D and 3-D sweeps need no filtering; WFG gains from it
                limit = _unique_front_min(limit)
            excl -= _hv_sub(limit, sub_ref)
        total += excl * (ref[-1] - last[k])
    return total


def _hv_sub(front: FloatArray, ref: FloatArray) -> float:
    n, m = front.shape
    if n == 0:
        return 0.0
    if m == 2:
        return _hv2d(front, ref)
    return _wfg(front, ref)


def _monte_carlo(
    front: FloatArray, ref: FloatArray, n_samples: int, seed: int, n_inside: int
) -> HypervolumeResult:
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    n, m = front.shape
    if n == 0:
        return HypervolumeResult(0.0, 0.0, "monte-carlo", n_inside, int(n_samples))
    low = front.min(axis=0)
    box = float(np.prod(ref - low))
    rng = np.random.default_rng(seed)
    # Points sorted by f1: a sample is dominated only by a prefix of them.
    pts = front[np.argsort(front[:, 0], kind="stable")]
    cols = [np.ascontiguousarray(pts[:, j]) for j in range(m)]
    chunk = max(1, 2_000_000 // n)
    hits = 0
    done = 0
    while done < n_samples:
        size = min(chunk, n_samples - done)
        samples = low + rng.random((size, m)) * (ref - low)
        samples = samples[np.argsort(samples[:, 0])]
        # Samples sorted too: the block of samples only needs the points whose f1 is at
        # most the block's largest f1.
        for s0 in range(0, size, 512):
            block = samples[s0 : s0 + 512]
            upto = int(np.searchsorted(cols[0], block[-1, 0], side="right"))
            if upto == 0:
                continue
            inside = cols[0][None, :upto] <= block[:, 0:1]
            for j in range(1, m):
                inside &= cols[j][None, :upto] <= block[:, j : j + 1]
            hits += int(np.count_nonzero(inside.any(axis=1)))
        done += size
    p = hits / n_samples
    value = box * p
    std_error = box * float(np.sqrt(p * (1.0 - p) / n_samples))
    return HypervolumeResult(value, std_error, "monte-carlo", n_inside, int(n_samples))
