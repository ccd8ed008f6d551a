"""benchmarks/spread.py: mean ± sd over seeds, and the t interval of paired per-seed
differences (hand-checked against the t table)."""

from __future__ import annotations

import pytest

from tests.bench_scripts import load_bench_script

spread = load_bench_script("spread", "bench_spread_under_test")


def test_t_interval_on_a_hand_checked_case() -> None:
    # differences 1, 2, 3: mean 2, sd 1, t(0.975, 2 df) = 4.302653 -> half width 2.484138
    mean, lower, upper = spread.t_interval([1.0, 2.0, 3.0])
    assert mean == pytest.approx(2.0)
    assert lower == pytest.approx(2.0 - 2.484138, abs=1e-6)
    assert upper == pytest.approx(2.0 + 2.484138, abs=1e-6)
    assert spread.t_interval_text([1.0, 2.0, 3.0], digits=2) == "+2.00 [-0.48, +4.48]"


def test_identical_differences_have_no_width() -> None:
    assert spread.t_interval([0.5, 0.5]) == (0.5, 0.5, 0.5)


def test_one_seed_has_no_interval() -> None:
    with pytest.raises(ValueError, match="at least 2 seeds"):
        spread.t_interval([0.1])


def test_mean_sd_cells() -> None:
    assert spread.mean_sd_text([0.1]) == "0.1000"
    assert spread.mean_sd_text([1.0, 2.0, 3.0], digits=1) == "2.0 ± 1.0"
    assert spread.mean_sd_text([1.0, 3.0], digits=1, sign="+") == "+2.0 ± 1.4"


def test_t_interval_verdict_reads_the_unrounded_bounds() -> None:
    assert spread.t_interval_verdict([1.0, 2.0, 3.0], digits=2) == ("+2.00 [-0.48, +4.48]", False)
    assert spread.t_interval_verdict([0.04, 0.05, 0.06]) == ("+0.0500 [+0.0252, +0.0748]", True)
    # bounds of 0.00001: significant, although they print as +0.0000
    assert spread.t_interval_verdict([1e-5, 1e-5]) == ("+0.0000 [+0.0000, +0.0000]", True)
