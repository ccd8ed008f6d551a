"""Hypervolume: exact sweeps (1-3 objectives), WFG (4+), Monte Carlo, the automatic choice."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.typing import NDArray
from pymoo.indicators.hv import HV

from paretorec.moo.hypervolume import (
    HypervolumeMethod,
    hypervolume,
    hypervolume_exact,
    hypervolume_monte_carlo,
)
from paretorec.moo.pareto import Direction

# The module, not the function `paretorec.moo` re-exports under the same name.
hv_module = importlib.import_module("paretorec.moo.hypervolume")

MIN, MAX = Direction.MINIMIZE, Direction.MAXIMIZE


@st.composite
def sets_and_reference(
    draw: st.DrawFn, max_objectives: int = 4
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    m = draw(st.integers(1, max_objectives))
    n = draw(st.integers(0, 12))
    points = draw(arrays(np.int64, (n, m), elements=st.integers(0, 5))).astype(np.float64)
    reference = draw(arrays(np.int64, (m,), elements=st.integers(1, 6))).astype(np.float64)
    return points, reference


def _sphere(rng: np.random.Generator, n: int, m: int) -> NDArray[np.float64]:
    """Points on the positive unit sphere (a DTLZ2-like front; all non-dominated)."""
    x = np.abs(rng.normal(size=(n, m)))
    on_sphere: NDArray[np.float64] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return on_sphere


# ----------------------------------------------------------------------- hand-checked


def test_two_dimensional_staircase() -> None:
    # Sweep in f1 with ref (4, 4): [1,2) × height 4-3 = 1, [2,3) × 4-2 = 2, [3,4) × 4-1 = 3.
    points = np.array([[1, 3], [2, 2], [3, 1]], dtype=float)
    assert hypervolume_exact(points, [4, 4], "minimize") == 6.0
    result = hypervolume(points, [4, 4], "minimize")
    assert (result.value, result.std_error, result.algorithm, result.n_points) == (
        6.0,
        0.0,
        "sweep-2d",
        3,
    )
    assert result.exact


def test_points_outside_the_reference_box_contribute_nothing() -> None:
    base = np.array([[1, 3], [2, 2], [3, 1]], dtype=float)
    extra = np.array([[5, 0], [0, 5], [4, 1], [9, 9]], dtype=float)  # beyond or on the edge
    assert hypervolume_exact(np.vstack([base, extra]), [4, 4], "minimize") == 6.0
    assert hypervolume_exact(extra, [4, 4], "minimize") == 0.0
    assert hypervolume(extra, [4, 4], "minimize").n_points == 0


def test_three_dimensional_pair() -> None:
    # Boxes to ref (3,3,3): (1,1,2) spans 2·2·1 = 4, (2,2,1) spans 1·1·2 = 2, their
    # intersection from (2,2,2) is 1·1·1 = 1; union 4 + 2 - 1 = 5.
    points = np.array([[1, 1, 2], [2, 2, 1]], dtype=float)
    assert hypervolume_exact(points, [3, 3, 3], "minimize") == 5.0


def test_four_dimensional_pair() -> None:
    # (1,1,1,2): 2·2·2·1 = 8; (2,2,2,1): 1·1·1·2 = 2; intersection (2,2,2,2): 1; 8+2-1 = 9.
    points = np.array([[1, 1, 1, 2], [2, 2, 2, 1]], dtype=float)
    assert hypervolume_exact(points, [3, 3, 3, 3], "minimize") == 9.0
    auto = hypervolume(points, [3, 3, 3, 3], "minimize")
    assert (auto.algorithm, auto.value) == ("moocore", 9.0)
    assert hypervolume(points, [3, 3, 3, 3], "minimize", method="exact").algorithm == "wfg"


def test_one_dimension_and_empty_sets() -> None:
    assert hypervolume_exact([[2.0], [5.0]], [10.0], "minimize") == 8.0
    assert hypervolume_exact(np.zeros((0, 3)), [1, 1, 1], "minimize") == 0.0


def test_maximized_objectives() -> None:
    # Revenue and NDCG, both maximized, reference (0, 0): boxes 10·0.9 = 9 and
    # 20·0.8 = 16 overlap in 10·0.8 = 8; union 9 + 16 - 8 = 17.
    points = np.array([[10.0, 0.9], [20.0, 0.8]])
    assert hypervolume_exact(points, [0.0, 0.0], [MAX, MAX]) == pytest.approx(17.0, rel=1e-15)
    # Mixed: maximize revenue, minimize latency, ref (0 revenue, 10 latency).
    mixed = np.array([[10.0, 2.0], [20.0, 6.0]])
    # boxes 10·8 = 80 and 20·4 = 80 overlap 10·4 = 40 -> 120
    assert hypervolume_exact(mixed, [0.0, 10.0], [MAX, MIN]) == 120.0


# --------------------------------------------------------------------------- errors


def test_bad_inputs_raise() -> None:
    points = np.array([[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        hypervolume(points, [3.0], "minimize")
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        hypervolume(points, [[3.0, 3.0]], "minimize")
    with pytest.raises(ValueError, match="finite"):
        hypervolume(points, [3.0, np.nan], "minimize")
    with pytest.raises(ValueError, match="finite"):
        hypervolume([[1.0, np.inf]], [3.0, 3.0], "minimize")
    with pytest.raises(ValueError, match="direction"):
        hypervolume(points, [3.0, 3.0], ["minimize"])
    with pytest.raises(ValueError, match="unknown method"):
        hypervolume(points, [3.0, 3.0], "minimize", method="guess")
    with pytest.raises(ValueError, match="n_samples"):
        hypervolume_monte_carlo(points, [3.0, 3.0], "minimize", n_samples=0)


# ------------------------------------------------------------------------ invariants


@settings(max_examples=150, deadline=None)
@given(sets_and_reference(), st.data())
def test_adding_a_point_never_decreases_hypervolume(
    case: tuple[NDArray[np.float64], NDArray[np.float64]], data: st.DataObject
) -> None:
    points, ref = case
    m = len(ref)
    extra = data.draw(arrays(np.int64, (1, m), elements=st.integers(0, 5))).astype(np.float64)
    before = hypervolume_exact(points, ref, "minimize")
    after = hypervolume_exact(np.vstack([points, extra]), ref, "minimize")
    assert after >= before - 1e-12


@settings(max_examples=100, deadline=None)
@given(sets_and_reference())
def test_single_point_is_its_box(case: tuple[NDArray[np.float64], NDArray[np.float64]]) -> None:
    points, ref = case
    for p in points[:3]:
        box = float(np.prod(np.clip(ref - p, 0, None)))
        assert hypervolume_exact(p[None, :], ref, "minimize") == pytest.approx(box, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(sets_and_reference(), st.data())
def test_adding_a_dominated_point_changes_nothing(
    case: tuple[NDArray[np.float64], NDArray[np.float64]], data: st.DataObject
) -> None:
    points, ref = case
    if len(points) == 0:
        return
    m = len(ref)
    base = points[data.draw(st.integers(0, len(points) - 1))]
    worse = base + data.draw(arrays(np.int64, (m,), elements=st.integers(0, 3)))
    before = hypervolume_exact(points, ref, "minimize")
    assert hypervolume_exact(np.vstack([points, worse]), ref, "minimize") == pytest.approx(
        before, abs=1e-12
    )


@settings(max_examples=100, deadline=None)
@given(sets_and_reference(), st.data())
def test_flipping_directions_with_negated_columns_keeps_the_value(
    case: tuple[NDArray[np.float64], NDArray[np.float64]], data: st.DataObject
) -> None:
    points, ref = case
    m = len(ref)
    flip = np.array(data.draw(st.lists(st.booleans(), min_size=m, max_size=m)))
    directions = [MAX if f else MIN for f in flip]
    expected = hypervolume_exact(points, ref, "minimize")
    got = hypervolume_exact(np.where(flip, -points, points), np.where(flip, -ref, ref), directions)
    assert got == pytest.approx(expected, abs=1e-12)
    perm = np.random.default_rng(0).permutation(len(points))
    assert hypervolume_exact(points[perm], ref, "minimize") == pytest.approx(expected, abs=1e-12)


# --------------------------------------------------------------- agreement with pymoo


@pytest.mark.parametrize(("m", "max_n"), [(2, 400), (3, 400), (4, 60), (5, 30)])
def test_exact_matches_pymoo(m: int, max_n: int) -> None:
    rng = np.random.default_rng(10 + m)
    for trial in range(12):
        n = int(rng.integers(1, max_n))
        if trial % 3 == 0:
            points, ref = _sphere(rng, n, m), np.full(m, 1.1)
        elif trial % 3 == 1:
            points, ref = rng.random((n, m)), rng.uniform(0.5, 1.2, m)
        else:
            points, ref = rng.integers(0, 5, size=(n, m)).astype(float), np.full(m, 4.0)
        ours = hypervolume_exact(points, ref, "minimize")
        theirs = HV(ref_point=ref)(points)
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("m", [4, 5])
def test_monte_carlo_within_four_standard_errors(m: int) -> None:
    rng = np.random.default_rng(20 + m)
    for seed, points in enumerate((_sphere(rng, 60, m), rng.random((80, m)))):
        ref = np.full(m, 1.1)
        exact = hypervolume_exact(points, ref, "minimize")
        estimate = hypervolume_monte_carlo(points, ref, "minimize", n_samples=20_000, seed=seed)
        assert estimate.std_error > 0
        assert not estimate.exact
        assert abs(estimate.value - exact) <= 4 * estimate.std_error
        again = hypervolume_monte_carlo(points, ref, "minimize", n_samples=20_000, seed=seed)
        assert again == estimate  # the seed fixes the estimate


def test_auto_is_moocore_above_three_objectives_and_ours_below() -> None:
    rng = np.random.default_rng(3)
    points, ref = _sphere(rng, 30, 4), np.full(4, 1.1)
    auto = hypervolume(points, ref, "minimize")
    assert (auto.algorithm, auto.std_error, auto.n_points) == ("moocore", 0.0, 30)
    forced = hypervolume(points, ref, "minimize", method=HypervolumeMethod.EXACT)
    assert forced.algorithm == "wfg"
    assert auto.value == pytest.approx(forced.value, rel=1e-12)
    estimate = hypervolume(points, ref, "minimize", method="monte_carlo", n_samples=5_000, seed=1)
    assert estimate.algorithm == "monte-carlo" and estimate.n_samples == 5_000
    assert abs(estimate.value - forced.value) <= 4 * estimate.std_error
    # Three objectives: our sweep, exact; moocore on request agrees.
    sphere3 = _sphere(rng, 2000, 3)
    assert hypervolume(sphere3, np.full(3, 1.1), "minimize").algorithm == "hv3d"
    assert hypervolume(sphere3, np.full(3, 1.1), "minimize", method="moocore").value == (
        pytest.approx(hypervolume_exact(sphere3, np.full(3, 1.1), "minimize"), rel=1e-12)
    )


@pytest.mark.parametrize("m", [4, 5, 6])
def test_moocore_matches_our_exact_wfg_on_random_fronts(m: int) -> None:
    """Our WFG is the oracle: moocore agrees on spheres (all non-dominated), clouds, ties
    on a grid, and with maximized objectives and points outside the box."""
    rng = np.random.default_rng(40 + m)
    for trial in range(9):
        n = int(rng.integers(1, {4: 120, 5: 60, 6: 25}[m]))
        if trial % 3 == 0:
            points, ref = _sphere(rng, n, m), np.full(m, 1.1)
        elif trial % 3 == 1:
            points, ref = rng.random((n, m)), rng.uniform(0.5, 1.2, m)
        else:
            points, ref = rng.integers(0, 5, size=(n, m)).astype(float), np.full(m, 4.0)
        dirs = [MAX if j % 2 else MIN for j in range(m)]
        signs = np.array([-1.0 if j % 2 else 1.0 for j in range(m)])
        ours = hypervolume_exact(points * signs, ref * signs, dirs)
        theirs = hypervolume(points * signs, ref * signs, dirs, method="moocore")
        assert theirs.algorithm == "moocore"
        assert theirs.value == pytest.approx(ours, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(sets_and_reference(max_objectives=5))
def test_moocore_equals_ours_on_small_integer_sets(
    case: tuple[NDArray[np.float64], NDArray[np.float64]],
) -> None:
    points, reference = case
    ours = hypervolume_exact(points, reference, "minimize")
    assert hypervolume(points, reference, "minimize", method="moocore").value == pytest.approx(
        ours, rel=1e-12, abs=1e-12
    )


def test_auto_estimates_a_front_too_large_for_exact_in_time() -> None:
    rng = np.random.default_rng(0)
    sphere = rng.random((200, 8))
    sphere /= np.linalg.norm(sphere, axis=1, keepdims=True)  # every point non-dominated
    auto = hypervolume(sphere, np.zeros(8), "maximize")
    assert auto.algorithm == "monte-carlo" and auto.std_error > 0
    small = hypervolume(sphere[:20], np.zeros(8), "maximize")
    assert small.algorithm == "moocore"
