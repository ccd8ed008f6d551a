"""Choosing one point of a front: knee, compromise, constraint-first."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.typing import NDArray

from paretorec.moo.pareto import Direction, pareto_front_mask
from paretorec.moo.selection import (
    NoFeasiblePointError,
    SelectionMethod,
    Threshold,
    select_compromise,
    select_constrained,
    select_knee,
)

MIN, MAX = Direction.MINIMIZE, Direction.MAXIMIZE

# Minimized; the front spans [0, 10] in both objectives, so normalizing divides by 10:
# (0, 1), (0.1, 0.3), (0.2, 0.15), (1, 0); the last row is dominated by (2, 1.5).
FRONT_2D = np.array([[0.0, 10.0], [1.0, 3.0], [2.0, 1.5], [10.0, 0.0], [3.0, 4.0]])


@st.composite
def point_sets(draw: st.DrawFn) -> NDArray[np.float64]:
    m = draw(st.integers(2, 4))
    n = draw(st.integers(1, 25))
    return draw(arrays(np.int64, (n, m), elements=st.integers(0, 6))).astype(np.float64)


# ------------------------------------------------------------------------------ knee


def test_knee_in_two_dimensions() -> None:
    # Line through the extremes: x + y = 1.  Signed distances (1 - x - y)/√2:
    # (0.1, 0.3) -> 0.6/√2, (0.2, 0.15) -> 0.65/√2 (the knee), the extremes -> 0.
    choice = select_knee(FRONT_2D, "minimize")
    assert choice.index == 2
    assert choice.method is SelectionMethod.KNEE
    assert choice.score == pytest.approx(0.65 / math.sqrt(2))
    assert choice.front.tolist() == [0, 1, 2, 3]
    assert choice.point.tolist() == [2.0, 1.5]
    assert choice.n_candidates == 4


def test_knee_in_three_dimensions() -> None:
    # Extremes at 10·unit vectors -> normalized plane x + y + z = 1; (2,2,2) -> 0.6 away
    # from it on the ideal's side: (1 - 0.6)/√3.
    points = np.array([[10, 0, 0], [0, 10, 0], [0, 0, 10], [2, 2, 2], [5, 5, 5]], dtype=float)
    choice = select_knee(points, "minimize")
    assert choice.index == 3
    assert choice.score == pytest.approx(0.4 / math.sqrt(3))


def test_knee_with_maximized_objectives_and_degenerate_fronts() -> None:
    flipped = select_knee(-FRONT_2D, "maximize")
    assert flipped.index == 2
    assert flipped.point.tolist() == [-2.0, -1.5]
    # A single front point is chosen whatever the plane.
    assert select_knee([[1.0, 1.0], [2.0, 2.0]], "minimize").index == 0
    # Only two extremes in three objectives: the extremes' plane is singular; the
    # fallback plane still picks a front point.
    assert select_knee([[0, 1, 0], [1, 0, 0]], "minimize").index in (0, 1)


# ------------------------------------------------------------------------ compromise


def test_compromise_equal_weights() -> None:
    # sqrt(½(x² + y²)): (0.1,0.3) -> sqrt(0.05) = 0.2236, (0.2,0.15) -> sqrt(0.03125) = 0.1768.
    choice = select_compromise(FRONT_2D, "minimize")
    assert choice.index == 2
    assert choice.method is SelectionMethod.COMPROMISE
    assert choice.score == pytest.approx(math.sqrt(0.03125))


def test_compromise_weights_and_norms() -> None:
    # weights (0.9, 0.1): (0.1,0.3) -> sqrt(0.9·0.01 + 0.1·0.09) = sqrt(0.018) wins
    # over (0.2,0.15) -> sqrt(0.9·0.04 + 0.1·0.0225) = sqrt(0.03825).
    choice = select_compromise(FRONT_2D, "minimize", weights=[9, 1])
    assert choice.index == 1
    assert choice.score == pytest.approx(math.sqrt(0.018))
    # Only the first objective matters: the point best in it.
    assert select_compromise(FRONT_2D, "minimize", weights=[1, 0]).index == 0
    # Chebyshev: max(½x, ½y): (0.1,0.3) -> 0.15, (0.2,0.15) -> 0.1.
    cheb = select_compromise(FRONT_2D, "minimize", p=math.inf)
    assert cheb.index == 2
    assert cheb.score == pytest.approx(0.1)
    # Manhattan: ½(x + y): 0.2 vs 0.175.
    assert select_compromise(FRONT_2D, "minimize", p=1).index == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights": [1.0]}, "shape"),
        ({"weights": [-1.0, 2.0]}, "non-negative"),
        ({"weights": [0.0, 0.0]}, "sum to 0"),
        ({"weights": [np.nan, 1.0]}, "finite"),
        ({"p": 0.5}, "p must be"),
    ],
)
def test_compromise_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        select_compromise(FRONT_2D, "minimize", **kwargs)  # type: ignore[arg-type]


# ----------------------------------------------------------------------- constrained

# revenue (maximize), NDCG (maximize); the best NDCG is 0.95.
SHOP = np.array([[100, 0.90], [120, 0.88], [150, 0.85], [90, 0.95], [130, 0.80], [110, 0.87]])


def test_most_revenue_with_ndcg_near_the_best() -> None:
    # 90% of 0.95 = 0.855: rows 0, 1, 3 and 5 qualify; the most revenue among them is 120.
    choice = select_constrained(
        SHOP, [MAX, MAX], objective=0, thresholds=[Threshold(1, fraction_of_best=0.90)]
    )
    assert (choice.index, choice.score, choice.method) == (1, 120.0, SelectionMethod.CONSTRAINED)
    assert choice.n_candidates == 3  # row 5 qualifies but is dominated by row 1
    # 97% of 0.95 = 0.9215: only row 3.
    assert (
        select_constrained(
            SHOP, [MAX, MAX], objective=0, thresholds=[Threshold(1, fraction_of_best=0.97)]
        ).index
        == 3
    )
    # An absolute bound: NDCG >= 0.85 admits row 2.
    assert (
        select_constrained(
            SHOP, [MAX, MAX], objective=0, thresholds=[Threshold(1, bound=0.85)]
        ).index
        == 2
    )
    # No thresholds: simply the most revenue; a single threshold needs no list.
    assert select_constrained(SHOP, [MAX, MAX], objective=0).index == 2
    single = select_constrained(SHOP, [MAX, MAX], objective=0, thresholds=Threshold(1, bound=0.88))
    assert single.index == 1


def test_minimized_thresholds_and_ties() -> None:
    # revenue (maximize), latency (minimize): latency <= 110% of the best (10) -> <= 11.
    points = np.array([[100.0, 10.0], [130.0, 11.0], [160.0, 12.0]])
    choice = select_constrained(
        points, [MAX, MIN], objective=0, thresholds=[Threshold(1, fraction_of_best=1.1)]
    )
    assert choice.index == 1
    # A tie in the target goes to the point best in the other objectives, in order.
    tie = np.array([[5.0, 1.0, 1.0], [5.0, 2.0, 2.0]])
    assert select_constrained(tie, [MAX, MAX, MIN], objective=0, thresholds=[]).index == 1


def test_constrained_errors() -> None:
    with pytest.raises(NoFeasiblePointError, match="no point meets"):
        select_constrained(SHOP, [MAX, MAX], objective=0, thresholds=[Threshold(1, bound=0.99)])
    with pytest.raises(ValueError, match="target"):
        select_constrained(SHOP, [MAX, MAX], objective=0, thresholds=[Threshold(0, bound=1)])
    with pytest.raises(ValueError, match="out of range"):
        select_constrained(SHOP, [MAX, MAX], objective=2, thresholds=[])
    with pytest.raises(ValueError, match="out of range"):
        select_constrained(SHOP, [MAX, MAX], objective=0, thresholds=[Threshold(5, bound=1)])
    with pytest.raises(ValueError, match="positive best"):
        select_constrained(
            -SHOP, [MAX, MAX], objective=0, thresholds=[Threshold(1, fraction_of_best=0.9)]
        )
    with pytest.raises(ValueError, match="exactly one"):
        Threshold(1)
    with pytest.raises(ValueError, match="exactly one"):
        Threshold(1, bound=1.0, fraction_of_best=0.5)
    with pytest.raises(ValueError, match="positive"):
        Threshold(1, fraction_of_best=-0.5)
    with pytest.raises(ValueError, match="index"):
        Threshold(-1, bound=1.0)


# ------------------------------------------------------------------------ invariants


@settings(max_examples=100, deadline=None)
@given(point_sets(), st.data())
def test_choices_are_on_the_front_and_direction_invariant(
    points: NDArray[np.float64], data: st.DataObject
) -> None:
    m = points.shape[1]
    on_front = pareto_front_mask(points, "minimize")
    flip = np.array(data.draw(st.lists(st.booleans(), min_size=m, max_size=m)))
    directions = [MAX if f else MIN for f in flip]
    flipped = np.where(flip, -points, points)
    scale = np.array(data.draw(st.lists(st.sampled_from([0.5, 1.0, 7.0]), min_size=m, max_size=m)))
    for select in (select_knee, select_compromise):
        choice = select(points, "minimize")
        assert on_front[choice.index]
        assert select(flipped, directions).index == choice.index
        # normalized space: a positive rescaling of an objective changes nothing
        assert select(points * scale, "minimize").index == choice.index
    best = select_constrained(points, "minimize", objective=0, thresholds=[])
    assert on_front[best.index]
    assert best.score == points[:, 0].min()
