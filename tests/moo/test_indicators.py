"""GD, GD+, IGD, IGD+ against a reference front."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pymoo.indicators.gd import GD
from pymoo.indicators.gd_plus import GDPlus
from pymoo.indicators.igd import IGD
from pymoo.indicators.igd_plus import IGDPlus

from paretorec.moo.indicators import gd, gd_plus, igd, igd_plus
from paretorec.moo.pareto import Direction

Indicator = Callable[..., float]
ALL: list[tuple[Indicator, type]] = [(gd, GD), (igd, IGD), (gd_plus, GDPlus), (igd_plus, IGDPlus)]


def test_hand_checked_values() -> None:
    # A = {(1,1)}, Z = {(0,0), (2,0)}.  Euclidean distances from (1,1): √2 and √2.
    # Dominance-aware: to (0,0) ‖(1,1)‖ = √2; to (2,0) ‖(max(-1,0), 1)‖ = 1.
    a = np.array([[1.0, 1.0]])
    z = np.array([[0.0, 0.0], [2.0, 0.0]])
    assert gd(a, z, "minimize") == pytest.approx(math.sqrt(2))
    assert igd(a, z, "minimize") == pytest.approx(math.sqrt(2))
    assert gd_plus(a, z, "minimize") == pytest.approx(1.0)
    assert igd_plus(a, z, "minimize") == pytest.approx((math.sqrt(2) + 1) / 2)


def test_a_set_on_the_reference_front_scores_zero() -> None:
    z = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    for f, _ in ALL:
        assert f(z, z, "minimize") == 0.0
    # A set dominating every reference point has IGD+ and GD+ 0, but positive IGD.
    better = z - 0.1
    assert igd_plus(better, z, "minimize") == 0.0
    assert gd_plus(better, z, "minimize") == 0.0
    assert igd(better, z, "minimize") == pytest.approx(0.1 * math.sqrt(2))


def test_maximized_columns_and_normalization() -> None:
    rng = np.random.default_rng(0)
    a, z = rng.random((20, 3)), rng.random((15, 3))
    directions = [Direction.MAXIMIZE, Direction.MINIMIZE, Direction.MAXIMIZE]
    flip = np.array([-1.0, 1.0, -1.0])
    scale = np.array([1000.0, 1.0, 0.01])
    for f, _ in ALL:
        plain = f(a, z, "minimize")
        assert f(a * flip, z * flip, directions) == pytest.approx(plain, rel=1e-12)
        normalized = f(a, z, "minimize", normalize=True)
        assert f(a * scale, z * scale, "minimize", normalize=True) == pytest.approx(
            normalized, rel=1e-12
        )


@pytest.mark.parametrize("f", [gd, igd, gd_plus, igd_plus])
def test_bad_inputs_raise(f: Indicator) -> None:
    z = np.array([[0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="points is empty"):
        f(np.zeros((0, 2)), z, "minimize")
    with pytest.raises(ValueError, match="reference_front is empty"):
        f(z, np.zeros((0, 2)), "minimize")
    with pytest.raises(ValueError, match="reference_front has 3 objective"):
        f(z, np.zeros((2, 3)), "minimize")
    with pytest.raises(ValueError, match="finite"):
        f(np.array([[np.nan, 0.0]]), z, "minimize")
    with pytest.raises(ValueError, match="3 direction"):
        f(z, z, ["minimize"] * 2 + ["maximize"])


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 4), st.data())
def test_plus_variants_never_exceed_the_plain_ones(m: int, data: st.DataObject) -> None:
    a = data.draw(arrays(np.float64, (data.draw(st.integers(1, 10)), m), elements=st.floats(0, 1)))
    z = data.draw(arrays(np.float64, (data.draw(st.integers(1, 10)), m), elements=st.floats(0, 1)))
    assert igd_plus(a, z, "minimize") <= igd(a, z, "minimize") + 1e-12
    assert gd_plus(a, z, "minimize") <= gd(a, z, "minimize") + 1e-12
    # IGD+ is weakly Pareto-compliant: improving a point never makes IGD+ worse.
    better = a.copy()
    better[0] -= data.draw(arrays(np.float64, (m,), elements=st.floats(0, 1)))
    assert igd_plus(better, z, "minimize") <= igd_plus(a, z, "minimize") + 1e-12


@pytest.mark.parametrize("m", [2, 3, 5])
@pytest.mark.parametrize("normalize", [False, True])
def test_matches_pymoo(m: int, normalize: bool) -> None:
    rng = np.random.default_rng(m)
    for trial in range(6):
        n, r = (int(x) for x in rng.integers(1, 200, size=2))
        a = rng.random((n, m))
        z = rng.integers(0, 4, size=(r, m)).astype(float) if trial % 2 else rng.random((r, m))
        for ours, theirs in ALL:
            expected = theirs(z, zero_to_one=normalize)(a)
            assert ours(a, z, "minimize", normalize=normalize) == pytest.approx(
                expected, rel=1e-9, abs=1e-12
            )


def test_blocked_computation_matches_pymoo_on_larger_sets() -> None:
    # Points on spheres are mutually non-dominated, so nothing is pruned and the
    # all-pairs comparison runs in several blocks.
    rng = np.random.default_rng(9)
    x = np.abs(rng.normal(size=(5000, 3)))
    sphere = x / np.linalg.norm(x, axis=1, keepdims=True)
    z, a = sphere[:3000], sphere[3000:] * 1.05
    assert igd_plus(a, z, "minimize") == pytest.approx(IGDPlus(z)(a), rel=1e-9)
    assert gd_plus(a[:800], z, "minimize") == pytest.approx(GDPlus(z)(a[:800]), rel=1e-9)
