"""Pareto dominance, non-dominated sorting and crowding distance as pure functions.

Every public function takes a point set as an array of shape ``(n_points, n_objectives)``
plus one `Direction` per objective.  Directions are applied once, at the boundary
(`as_minimization` negates the maximized columns); everything inside works on
minimization.  Point ``a`` *dominates* ``b`` when it is at least as good in every
objective and strictly better in one; equal points do not dominate each other, so
duplicates share a rank.

Non-dominated sorting sorts the points lexicographically (O(n log n)) and then assigns
each point to the first front that does not dominate it, found by binary search over the
fronts (the ENS-BS scheme of Zhang et al., 2015, which works because a point dominated by
front k is dominated by every earlier front):

- 2 objectives: each front is summarized by its smallest second objective, so a point's
  front is one `bisect`: O(n log n) in all.
- 3 objectives: each front keeps its 2-D staircase of (f2, f3); a membership test is one
  `bisect`, so O(n log n · log F) plus list insertions (F fronts).
- 4+ objectives: the test compares the point with the front's members (vectorized),
  O(m n²) in the worst case (all points on one front), usually far less; up to 512
  points, Deb's fast non-dominated sort on a vectorized dominance matrix instead.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from paretorec.types import Direction

__all__ = [
    "Direction",
    "Directions",
    "as_minimization",
    "crowding_distance",
    "dominates",
    "non_dominated_sort",
    "pareto_front",
    "pareto_front_mask",
    "pareto_ranks",
]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]


Directions = Direction | str | Sequence[Direction | str]
"""One direction per objective, or a single one that applies to all objectives."""


# ---------------------------------------------------------------------------- checks


def _points(points: ArrayLike, *, name: str = "points", allow_empty: bool = False) -> FloatArray:
    """`points` as a float array (n, m), m ≥ 1, all finite; ValueError otherwise."""
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a numeric array: {err}") from None
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (n_points, n_objectives), got shape {arr.shape}"
        )
    if arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one objective (column)")
    if arr.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} is empty: at least one point is needed")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name} must be finite: row {bad[0]}, objective {bad[1]} is {arr[bad[0], bad[1]]}"
        )
    return arr


def _directions(directions: Directions, n_objectives: int) -> tuple[Direction, ...]:
    """One `Direction` per objective; a single direction is repeated for all."""
    if isinstance(directions, str):
        return (_direction(directions),) * n_objectives
    out = tuple(_direction(d) for d in directions)
    if len(out) != n_objectives:
        raise ValueError(f"got {len(out)} direction(s) for {n_objectives} objective(s)")
    return out


def _direction(value: Direction | str) -> Direction:
    try:
        return Direction(str(value).lower())
    except ValueError:
        raise ValueError(
            f"unknown direction {value!r}: use 'maximize' or 'minimize' (Direction)"
        ) from None


def _signs(directions: tuple[Direction, ...]) -> FloatArray:
    return np.array([-1.0 if d is Direction.MAXIMIZE else 1.0 for d in directions])


def _minimized(
    points: ArrayLike, directions: Directions, *, name: str = "points", allow_empty: bool = False
) -> tuple[FloatArray, tuple[Direction, ...]]:
    arr = _points(points, name=name, allow_empty=allow_empty)
    dirs = _directions(directions, arr.shape[1])
    return arr * _signs(dirs), dirs


def as_minimization(points: ArrayLike, directions: Directions) -> FloatArray:
    """A copy of `points` with the maximized objectives negated (its own inverse)."""
    return _minimized(points, directions, allow_empty=True)[0]


# ------------------------------------------------------------------------- dominance


def dominates(a: ArrayLike, b: ArrayLike, directions: Directions) -> bool:
    """Whether point `a` Pareto-dominates point `b` (both 1-D, same length)."""
    pa = _points(np.atleast_2d(np.asarray(a, dtype=np.float64)), name="a")
    pb = _points(np.atleast_2d(np.asarray(b, dtype=np.float64)), name="b")
    if pa.shape != (1, pb.shape[1]) or pb.shape[0] != 1:
        raise ValueError(f"a and b must be two points of equal length, got {pa.shape}, {pb.shape}")
    signs = _signs(_directions(directions, pa.shape[1]))
    x, y = pa[0] * signs, pb[0] * signs
    return bool(np.all(x <= y) and np.any(x < y))


def pareto_ranks(points: ArrayLike, directions: Directions) -> NDArray[np.int64]:
    """Non-domination rank of every point: 0 for the Pareto front, 1 for the next, ...

    Lexicographic sort plus binary search over fronts (see the module docstring):
    O(n log n) for 2 objectives, O(n log n log F) for 3, O(m n²) worst case beyond.
    """
    return _ranks_min(_minimized(points, directions, allow_empty=True)[0])


def non_dominated_sort(points: ArrayLike, directions: Directions) -> list[IndexArray]:
    """The fronts, best first: a list of index arrays (each ascending) that partition
    ``range(n_points)``."""
    ranks = pareto_ranks(points, directions)
    if ranks.size == 0:
        return []
    order = np.argsort(ranks, kind="stable")
    bounds = np.cumsum(np.bincount(ranks))[:-1]
    return [part.astype(np.intp) for part in np.split(order, bounds)]


def pareto_front_mask(points: ArrayLike, directions: Directions) -> NDArray[np.bool_]:
    """True for the points no other point dominates (duplicates of a front point too)."""
    return _front_mask_min(_minimized(points, directions, allow_empty=True)[0])


def pareto_front(points: ArrayLike, directions: Directions) -> IndexArray:
    """Indices (ascending) of the non-dominated points; raises on an empty input."""
    arr, _ = _minimized(points, directions)
    return np.flatnonzero(_front_mask_min(arr)).astype(np.intp)


def crowding_distance(points: ArrayLike) -> FloatArray:
    """Deb's crowding distance (NSGA-II, 2002) of each point of one front. O(m n log n).

    For each objective the points are sorted; the two extremes get infinity and every
    other point adds the gap between its neighbours divided by the objective's range
    (an objective with zero range adds nothing).  Directions do not matter (distances
    are symmetric).  pymoo's `calc_crowding_distance` is this divided by m.
    """
    arr = _points(points, allow_empty=True)
    n, m = arr.shape
    out = np.zeros(n)
    if n <= 2:
        out[:] = np.inf
        return out
    for j in range(m):
        order = np.argsort(arr[:, j], kind="stable")
        col = arr[order, j]
        span = col[-1] - col[0]
        out[order[0]] = out[order[-1]] = np.inf
        if span > 0:
            out[order[1:-1]] += (col[2:] - col[:-2]) / span
    return out


# ------------------------------------------------------------- sorting (minimization)


def _lex_order(arr: FloatArray) -> tuple[IndexArray, NDArray[np.bool_]]:
    """Lexicographic order (first objective first) and, in that order, whether each
    point equals the one before it."""
    order = np.lexsort(arr.T[::-1]).astype(np.intp)
    s = arr[order]
    dup = np.zeros(len(order), dtype=bool)
    dup[1:] = np.all(s[1:] == s[:-1], axis=1)
    return order, dup


def _ranks_min(arr: FloatArray) -> NDArray[np.int64]:
    n, m = arr.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if m == 1:
        return np.unique(arr[:, 0], return_inverse=True)[1].astype(np.int64)
    if m >= 4 and n <= _SMALL:
        return _ranks_peeling(arr)
    order, dup = _lex_order(arr)
    s = arr[order]
    if m == 2:
        sorted_ranks = _ranks_sorted_2d(s, dup)
    elif m == 3:
        sorted_ranks = _ranks_sorted_3d(s, dup)
    else:
        sorted_ranks = _ranks_sorted_nd(s, dup)
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = sorted_ranks
    return ranks


_SMALL = 512


def _weakly_dominates(arr: FloatArray) -> NDArray[np.bool_]:
    """``le[i, j]``: point i is at least as good as j in every objective.  O(m n²)."""
    le = arr[:, None, 0] <= arr[None, :, 0]
    for j in range(1, arr.shape[1]):
        le &= arr[:, None, j] <= arr[None, :, j]
    return le


def _ranks_peeling(arr: FloatArray) -> NDArray[np.int64]:
    """Deb's fast non-dominated sort, vectorized: the full dominance matrix (O(m n²)
    time, O(n²) memory, so only for small n), then fronts peeled off by counts."""
    le = _weakly_dominates(arr)
    dom = le & ~le.T  # dom[i, j]: i dominates j
    count = dom.sum(axis=0)
    ranks = np.full(len(arr), -1, dtype=np.int64)
    current = np.flatnonzero(count == 0)
    r = 0
    while current.size:
        ranks[current] = r
        count -= dom[current].sum(axis=0)
        count[current] = -1
        current = np.flatnonzero(count == 0)
        r += 1
    return ranks


def _ranks_sorted_2d(s: FloatArray, dup: NDArray[np.bool_]) -> list[int]:
    # mins[k]: smallest f2 in front k so far; non-decreasing in k.  Every earlier point
    # has f1 <= ours, so front k dominates the point iff mins[k] <= its f2.
    mins: list[float] = []
    out: list[int] = []
    r = 0
    for y, is_dup in zip(s[:, 1].tolist(), dup.tolist(), strict=True):
        if not is_dup:
            r = bisect_right(mins, y)
            if r == len(mins):
                mins.append(y)
            else:
                mins[r] = y
        out.append(r)
    return out


def _ranks_sorted_3d(s: FloatArray, dup: NDArray[np.bool_]) -> list[int]:
    # Each front keeps the 2-D non-dominated staircase of its (f2, f3): xs ascending,
    # nzs = -f3 ascending.  Every earlier point has f1 <= ours, so the front dominates
    # (y, z) iff the staircase entry with the largest f2 <= y has f3 <= z.
    xs_of: list[list[float]] = []
    nzs_of: list[list[float]] = []
    out: list[int] = []
    r = 0
    for y, z, is_dup in zip(s[:, 1].tolist(), s[:, 2].tolist(), dup.tolist(), strict=True):
        if is_dup:
            out.append(r)
            continue
        lo, hi = 0, len(xs_of)
        while lo < hi:
            mid = (lo + hi) // 2
            xs, nzs = xs_of[mid], nzs_of[mid]
            i = bisect_right(xs, y) - 1
            if i >= 0 and -nzs[i] <= z:
                lo = mid + 1
            else:
                hi = mid
        r = lo
        if r == len(xs_of):
            xs_of.append([y])
            nzs_of.append([-z])
        else:
            xs, nzs = xs_of[r], nzs_of[r]
            i = bisect_left(xs, y)
            j = bisect_right(nzs, -z)  # entries i..j-1 have f2 >= y and f3 >= z
            del xs[i:j], nzs[i:j]
            xs.insert(i, y)
            nzs.insert(i, -z)
        out.append(r)
    return out


def _ranks_sorted_nd(s: FloatArray, dup: NDArray[np.bool_]) -> list[int]:
    # Each front's members are kept in a growing buffer; every member precedes the point
    # in lexicographic order and differs from it, so `member <= point` means domination.
    n, m = s.shape
    bufs: list[FloatArray] = []
    sizes: list[int] = []
    out: list[int] = []
    r = 0
    for k in range(n):
        if dup[k]:
            out.append(r)
            continue
        p = s[k]
        lo, hi = 0, len(bufs)
        while lo < hi:
            mid = (lo + hi) // 2
            if np.any(np.all(bufs[mid][: sizes[mid]] <= p, axis=1)):
                lo = mid + 1
            else:
                hi = mid
        r = lo
        if r == len(bufs):
            bufs.append(np.empty((8, m)))
            sizes.append(0)
        if sizes[r] == len(bufs[r]):
            bufs[r] = np.concatenate([bufs[r], np.empty_like(bufs[r])])
        bufs[r][sizes[r]] = p
        sizes[r] += 1
        out.append(r)
    return out


def _front_mask_min(arr: FloatArray) -> NDArray[np.bool_]:
    n, m = arr.shape
    if n == 0:
        return np.zeros(0, dtype=bool)
    if m == 1:
        best: NDArray[np.bool_] = arr[:, 0] == arr[:, 0].min()
        return best
    if m == 2:
        # Lexicographic order; a point is on the front iff its f2 is below every earlier
        # f2 (duplicates inherit the verdict of their first copy).
        order, dup = _lex_order(arr)
        y = arr[order, 1]
        before = np.empty(n)
        before[0] = np.inf
        np.minimum.accumulate(y[:-1], out=before[1:])
        first = np.maximum.accumulate(np.where(dup, 0, np.arange(n)))
        on = (y < before)[first]
        mask = np.empty(n, dtype=bool)
        mask[order] = on
        return mask
    first_front: NDArray[np.bool_] = _ranks_min(arr) == 0
    return first_front


def _unique_front_min(arr: FloatArray) -> FloatArray:
    """The non-dominated points of `arr` with duplicates removed (for hypervolume)."""
    n = arr.shape[0]
    if n <= 1:
        return arr
    if n <= 256:
        # Broadcasting, O(m n²): drop j if some i weakly dominates it and i != j in value,
        # or i is an earlier copy of j.
        le = _weakly_dominates(arr)
        eq = le & le.T
        earlier = np.tri(n, k=-1, dtype=bool).T  # earlier[i, j]: i < j
        drop = np.any(le & (~eq | earlier), axis=0)
        kept: FloatArray = arr[~drop]
        return kept
    order, dup = _lex_order(arr)
    keep = order[~dup]
    sub = arr[keep]
    return sub[_front_mask_min(sub)]
