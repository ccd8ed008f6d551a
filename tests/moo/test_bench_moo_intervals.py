"""benchmarks/bench_moo.py: the paired bootstrap of the held-out hypervolume over the
requests (`paired_hv_bootstrap`), on cases small enough to check by hand."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from paretorec.moo.tradeoff import make_result
from paretorec.types import Direction
from tests.bench_scripts import load_bench_script

MAX2 = (Direction.MAXIMIZE, Direction.MAXIMIZE)
REF2 = np.zeros(2)


@pytest.fixture(scope="module")
def moo() -> ModuleType:
    return load_bench_script("bench_moo", "bench_moo_under_test")


def test_resampled_hv_by_hand(moo: ModuleType) -> None:
    # one point on two requests: (0.2, 0.8) and (0.6, 0.4); its HV is x * y of the mean
    per_request = np.array([[[0.2, 0.8], [0.6, 0.4]]])
    rows = np.array([[0, 1], [0, 0], [1, 1], [1, 0]])
    hv = moo.resampled_hv(per_request, rows, REF2, MAX2)
    assert hv == pytest.approx([0.4 * 0.6, 0.2 * 0.8, 0.6 * 0.4, 0.4 * 0.6], abs=1e-15)
    # two points: the HV of their union, (0.2, 0.8) and (0.6, 0.4) -> 0.16 + 0.4 * 0.4
    two = np.array([[[0.2, 0.8], [0.2, 0.8]], [[0.6, 0.4], [0.6, 0.4]]])
    assert moo.resampled_hv(two, rows[:1], REF2, MAX2)[0] == pytest.approx(0.32, abs=1e-15)


def test_identity_resample_is_the_tables_hv(moo: ModuleType) -> None:
    rng = np.random.default_rng(3)
    per_request = rng.random((40, 9, 3)) * rng.random((40, 1, 1))
    dirs = (Direction.MAXIMIZE,) * 3
    # the table: reevaluate's means (as RankingProblem.evaluate gives them), then make_result
    means = np.stack([rows.mean(axis=0) for rows in per_request])
    table = make_result("x", ("a", "b", "c"), dirs, ("w",), np.zeros((40, 1)), means)
    identity = np.arange(9)[None, :]
    hv = moo.resampled_hv(per_request, identity, table.reference, dirs)
    assert hv[0] == table.hypervolume.value  # exactly
    found = moo.paired_hv_bootstrap(
        {"a": per_request, "base": per_request[:5]}, "base", table.reference, dirs, n_resamples=20
    )["a"]
    assert found.hv == table.hypervolume.value
    base = make_result("x", ("a", "b", "c"), dirs, ("w",), np.zeros((5, 1)), means[:5])
    assert found.hv_baseline == base.hypervolume.value
    assert found.difference == table.hypervolume.value - base.hypervolume.value


def test_a_method_better_on_every_request(moo: ModuleType) -> None:
    # method a's one point on each request r is (u_r, v_r), the baseline's (u_r - 0.1,
    # v_r - 0.1): on any resample the HV difference is u v - (u - .1)(v - .1) of the means
    # = 0.1 (u + v) - 0.01, so the interval is that of 0.1 (u + v) - 0.01 over the resamples
    rng = np.random.default_rng(0)
    a = rng.uniform(0.3, 0.9, size=(1, 30, 2))
    found = moo.paired_hv_bootstrap(
        {"a": a, "base": a - 0.1}, "base", REF2, MAX2, n_resamples=500, seed=7
    )
    assert set(found) == {"a"}
    diff = found["a"]
    rows = moo.draw_resamples(30, 500, 7)
    by_hand = 0.1 * (a[0, rows, 0].mean(axis=1) + a[0, rows, 1].mean(axis=1)) - 0.01
    lower, upper = np.percentile(by_hand, [2.5, 97.5])
    assert diff.lower == pytest.approx(lower, abs=1e-12)
    assert diff.upper == pytest.approx(upper, abs=1e-12)
    assert diff.difference == pytest.approx(0.1 * a[0].mean(axis=0).sum() - 0.01, abs=1e-12)
    assert 0.05 < diff.lower < diff.difference < diff.upper
    assert diff.significant
    assert (diff.n_requests, diff.n_resamples, diff.alpha) == (30, 500, 0.05)
    # the same baseline shifted the other way: significantly worse
    worse = moo.paired_hv_bootstrap({"a": a - 0.2, "base": a - 0.1}, "base", REF2, MAX2)["a"]
    assert worse.upper < 0 and worse.significant


def test_pairing_narrows_the_interval(moo: ModuleType) -> None:
    # the requests vary much more than the methods differ: unpaired, the two methods' HV
    # ranges over the resamples overlap; paired, the difference stays above 0
    rng = np.random.default_rng(1)
    scale = rng.uniform(0.2, 1.0, size=(1, 50, 1))
    a = scale * np.array([0.8, 0.8])
    base = scale * np.array([0.75, 0.75])
    rows = moo.draw_resamples(50, 300, 0)
    hv_a = moo.resampled_hv(a, rows, REF2, MAX2)
    hv_base = moo.resampled_hv(base, rows, REF2, MAX2)
    assert np.percentile(hv_a, 2.5) < np.percentile(hv_base, 97.5)  # unpaired: overlap
    diff = moo.paired_hv_bootstrap({"a": a, "base": base}, "base", REF2, MAX2, n_resamples=300)
    assert diff["a"].lower > 0 and diff["a"].significant


def test_identical_methods_differ_by_exactly_zero(moo: ModuleType) -> None:
    rng = np.random.default_rng(2)
    values = rng.random((6, 12, 3))
    dirs = (Direction.MAXIMIZE,) * 3
    rows = moo.draw_resamples(12, 200, 0)
    a = moo.resampled_hv(values, rows, np.zeros(3), dirs)
    b = moo.resampled_hv(values.copy(), rows, np.zeros(3), dirs)
    assert np.all(a - b == 0.0)
    assert np.ptp(a) > 0  # the resamples do move each HV
    diff = moo.paired_hv_bootstrap(
        {"same": values.copy(), "base": values}, "base", np.zeros(3), dirs, n_resamples=200
    )["same"]
    assert (diff.difference, diff.lower, diff.upper) == (0.0, 0.0, 0.0)
    assert not diff.significant


def test_resamples_are_seeded(moo: ModuleType) -> None:
    rows = moo.draw_resamples(10, 4, 5)
    assert rows.shape == (4, 10) and rows.min() >= 0 and rows.max() < 10
    assert np.array_equal(rows, moo.draw_resamples(10, 4, 5))
    assert not np.array_equal(rows, moo.draw_resamples(10, 4, 6))
    with pytest.raises(ValueError, match="requests"):
        moo.draw_resamples(1, 4, 0)


def test_inputs_are_checked(moo: ModuleType) -> None:
    x = np.full((1, 4, 2), 0.5)
    with pytest.raises(ValueError, match="baseline"):
        moo.paired_hv_bootstrap({"a": x}, "base", REF2, MAX2)
    with pytest.raises(ValueError, match="differ"):
        moo.paired_hv_bootstrap({"a": x, "base": x[:, :3]}, "base", REF2, MAX2)


def test_table_cells(moo: ModuleType) -> None:
    diff = moo.HvDifference(0.0123, 0.005, 0.019, 0.3, 0.2877, 300, 1000, 0.05)
    assert moo.interval_cells(diff.as_dict()) == ("+0.0123 [+0.0050, +0.0190]", "yes")
    assert diff.interval_text() == "+0.0123 [+0.0050, +0.0190]"
    tie = moo.HvDifference(-0.001, -0.004, 0.002, 0.3, 0.301, 300, 1000, 0.05)
    assert moo.interval_cells(tie.as_dict()) == ("-0.0010 [-0.0040, +0.0020]", "no")
    assert moo.interval_cells(None) == ("(baseline)", "")
