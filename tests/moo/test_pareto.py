"""Dominance, non-dominated sorting, the Pareto front and crowding distance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.typing import NDArray
from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from paretorec.moo.pareto import (
    Direction,
    _lex_order,
    _ranks_peeling,
    _ranks_sorted_nd,
    as_minimization,
    crowding_distance,
    dominates,
    non_dominated_sort,
    pareto_front,
    pareto_front_mask,
    pareto_ranks,
)

MIN, MAX = Direction.MINIMIZE, Direction.MAXIMIZE


@st.composite
def point_sets(draw: st.DrawFn, max_objectives: int = 5) -> NDArray[np.float64]:
    """Small integer grids (many ties and duplicates) as float arrays."""
    m = draw(st.integers(1, max_objectives))
    n = draw(st.integers(1, 30))
    values = draw(arrays(np.int64, (n, m), elements=st.integers(0, 4)))
    return values.astype(np.float64)


def _naive_dominates(a: NDArray[np.float64], b: NDArray[np.float64]) -> bool:
    return bool(np.all(a <= b) and np.any(a < b))


# ----------------------------------------------------------------------- hand-checked


def test_dominates_respects_directions() -> None:
    assert dominates([1, 2], [2, 2], [MIN, MIN])
    assert not dominates([2, 2], [1, 2], [MIN, MIN])
    assert not dominates([1, 2], [1, 2], "minimize")  # equal points do not dominate
    assert dominates([2, 2], [1, 2], ["maximize", "minimize"])
    assert not dominates([1, 3], [2, 2], "minimize")  # incomparable
    assert not dominates([2, 2], [1, 3], "minimize")


def test_ranks_of_a_small_set() -> None:
    # (1,3), (2,2), (3,1) and a copy of (1,3) form the front; (2,3) is dominated by
    # (2,2); (3,3) by (2,3), so it sits on the third front.
    points = np.array([[1, 3], [2, 2], [3, 1], [2, 3], [3, 3], [1, 3]], dtype=float)
    assert pareto_ranks(points, "minimize").tolist() == [0, 0, 0, 1, 2, 0]
    fronts = non_dominated_sort(points, "minimize")
    assert [f.tolist() for f in fronts] == [[0, 1, 2, 5], [3], [4]]
    assert pareto_front(points, "minimize").tolist() == [0, 1, 2, 5]
    assert pareto_front_mask(points, "minimize").tolist() == [True, True, True, False, False, True]


def test_mixed_directions() -> None:
    # revenue (maximize), latency (minimize): (10, 5) beats (8, 6); (12, 9) trades off.
    points = np.array([[10.0, 5.0], [8.0, 6.0], [12.0, 9.0], [12.0, 9.5]])
    assert pareto_front(points, [MAX, MIN]).tolist() == [0, 2]
    assert pareto_ranks(points, [MAX, MIN]).tolist() == [0, 1, 0, 1]
    assert as_minimization(points, [MAX, MIN]).tolist() == [
        [-10, 5],
        [-8, 6],
        [-12, 9],
        [-12, 9.5],
    ]


def test_one_objective_ranks_are_dense_ranks() -> None:
    assert pareto_ranks([[3.0], [1.0], [3.0], [2.0]], "minimize").tolist() == [2, 0, 2, 1]
    assert pareto_ranks([[3.0], [1.0], [3.0], [2.0]], "maximize").tolist() == [0, 2, 0, 1]


def test_empty_sets() -> None:
    empty = np.zeros((0, 3))
    assert pareto_ranks(empty, "minimize").shape == (0,)
    assert non_dominated_sort(empty, "minimize") == []
    assert pareto_front_mask(empty, "minimize").shape == (0,)
    with pytest.raises(ValueError, match="empty"):
        pareto_front(empty, "minimize")


def test_crowding_distance_by_hand() -> None:
    # Objective 1 (range 4): (1,2) gets (2-0)/4, (2,1) gets (4-1)/4.
    # Objective 2 (range 4): (2,1) gets (2-0)/4, (1,2) gets (4-1)/4.  Both sum to 1.25.
    front = np.array([[0, 4], [1, 2], [2, 1], [4, 0]], dtype=float)
    assert crowding_distance(front).tolist() == [np.inf, 1.25, 1.25, np.inf]
    assert crowding_distance(front[:2]).tolist() == [np.inf, np.inf]
    # An objective with zero range adds nothing.
    flat = np.array([[0.0, 1.0], [1.0, 1.0], [3.0, 1.0]])
    assert crowding_distance(flat).tolist() == [np.inf, 1.0, np.inf]


def test_crowding_distance_matches_pymoo_times_m() -> None:
    rng = np.random.default_rng(4)
    for m in (2, 3, 5):
        front = rng.random((40, m))
        ours = crowding_distance(front)
        theirs = calc_crowding_distance(front) * m
        finite = np.isfinite(theirs)
        assert np.array_equal(np.isfinite(ours), finite)
        np.testing.assert_allclose(ours[finite], theirs[finite], rtol=1e-12)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("points", "directions", "message"),
    [
        ([[1.0, np.nan]], "minimize", "finite"),
        ([[1.0, np.inf]], "minimize", "finite"),
        ([1.0, 2.0], "minimize", "2-D"),
        ([[1.0, 2.0]], ["minimize"], "1 direction"),
        ([[1.0, 2.0]], ["minimize", "up"], "unknown direction"),
        (np.zeros((2, 0)), "minimize", "at least one objective"),
        ([["a", "b"]], "minimize", "numeric"),
    ],
)
def test_bad_inputs_raise(points: object, directions: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pareto_ranks(points, directions)  # type: ignore[arg-type]


def test_dominates_needs_points_of_equal_length() -> None:
    with pytest.raises(ValueError, match="equal length"):
        dominates([1, 2], [1, 2, 3], "minimize")


# ------------------------------------------------------------------------ invariants


@settings(max_examples=150, deadline=None)
@given(point_sets())
def test_front_is_mutually_non_dominated_and_dominates_the_rest(
    points: NDArray[np.float64],
) -> None:
    mask = pareto_front_mask(points, "minimize")
    front, rest = points[mask], points[~mask]
    assert len(front) >= 1
    for a in front:
        assert not any(_naive_dominates(b, a) for b in front)
    for p in rest:
        assert any(_naive_dominates(f, p) for f in front)


@settings(max_examples=150, deadline=None)
@given(point_sets())
def test_ranks_are_consistent_with_dominance(points: NDArray[np.float64]) -> None:
    ranks = pareto_ranks(points, "minimize")
    for i, p in enumerate(points):
        dominators = [j for j, q in enumerate(points) if _naive_dominates(q, p)]
        # a point's rank is one more than the largest rank of the points dominating it
        expected = 1 + max(ranks[dominators]) if dominators else 0
        assert ranks[i] == expected


@settings(max_examples=100, deadline=None)
@given(point_sets(), st.data())
def test_flipping_a_direction_and_negating_the_column_keeps_the_front(
    points: NDArray[np.float64], data: st.DataObject
) -> None:
    m = points.shape[1]
    flip = data.draw(st.lists(st.booleans(), min_size=m, max_size=m))
    directions = [MAX if f else MIN for f in flip]
    flipped = np.where(flip, -points, points)
    assert np.array_equal(pareto_ranks(flipped, directions), pareto_ranks(points, "minimize"))
    assert np.array_equal(
        pareto_front_mask(flipped, directions), pareto_front_mask(points, "minimize")
    )


@settings(max_examples=100, deadline=None)
@given(point_sets())
def test_fronts_partition_the_points(points: NDArray[np.float64]) -> None:
    fronts = non_dominated_sort(points, "minimize")
    together = np.sort(np.concatenate(fronts))
    assert together.tolist() == list(range(len(points)))
    assert fronts[0].tolist() == pareto_front(points, "minimize").tolist()


# --------------------------------------------------------------- agreement with pymoo


@pytest.mark.parametrize("m", [2, 3, 4, 5])
def test_ranks_match_pymoo(m: int) -> None:
    rng = np.random.default_rng(m)
    sorter = NonDominatedSorting()
    for trial in range(30):
        n = int(rng.integers(1, 300))
        ties = rng.integers(0, 6, size=(n, m)).astype(float)  # ties and duplicates
        points = ties if trial % 2 else rng.random((n, m))
        _, theirs = sorter.do(points, return_rank=True)
        assert np.array_equal(pareto_ranks(points, "minimize"), theirs)
        assert np.array_equal(pareto_front_mask(points, "minimize"), theirs == 0)


@pytest.mark.parametrize("m", [3, 4, 5])
def test_the_three_sorting_paths_agree(m: int) -> None:
    # 3 objectives: staircases; 4+: dominance matrix up to 512 points, ENS beyond.
    rng = np.random.default_rng(7)
    for _ in range(10):
        points = rng.integers(0, 8, size=(200, m)).astype(float)
        order, dup = _lex_order(points)
        general = np.empty(len(points), dtype=np.int64)
        general[order] = _ranks_sorted_nd(points[order], dup)
        assert np.array_equal(pareto_ranks(points, "minimize"), general)
        assert np.array_equal(_ranks_peeling(points), general)


@pytest.mark.parametrize("m", [4, 5])
def test_large_sets_match_pymoo(m: int) -> None:
    rng = np.random.default_rng(m)
    points = rng.random((700, m))
    _, theirs = NonDominatedSorting().do(points, return_rank=True)
    assert np.array_equal(pareto_ranks(points, "minimize"), theirs)
