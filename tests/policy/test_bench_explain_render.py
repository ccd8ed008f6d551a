"""benchmarks/bench_explain.py's explain.md: NEW − OLD's 95% t interval over the training
seeds (the one that counts training-seed variance; the bootstrap intervals are within one
seed), its "sig. at 95%" cell, a verdict generated from it, and shop names that say the
shops are simulated."""

from __future__ import annotations

import argparse
from types import ModuleType
from typing import Any

import pytest

from tests.bench_scripts import load_bench_script

DEMO, HOME = "demo shop", "Home Depot (simulated shop over its catalog)"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench_script("bench_explain", "bench_explain_under_test")


def _shop(difference: float, objectives: list[str]) -> dict[str, Any]:
    return {
        "objectives": objectives,
        "wall_s": 10.0,
        "named_share_old": 0.3,
        "named_share_new": 1.0,
        "deletion_spearman_old": 0.3,
        "deletion_spearman_new": 0.3 + difference,
        "difference": difference,
        "difference_ci": [difference - 0.01, difference + 0.01],
        "cases": 1000,
    }


def _per_seed(demo: list[float], home: list[float]) -> dict[int, dict[str, Any]]:
    return {
        seed: {
            "shops": {
                DEMO: _shop(d, ["clicks", "revenue", "diversity"]),
                HOME: _shop(h, ["clicks", "purchases", "revenue"]),
            }
        }
        for seed, (d, h) in enumerate(zip(demo, home, strict=True))
    }


def test_the_t_interval_over_seeds_and_its_sig_cell(bench: ModuleType) -> None:
    # 0.1, 0.2, 0.3: mean 0.2, sd 0.1, t(0.975, 2 df) = 4.302653 -> half width 0.2484;
    # 0.4, 0.5, 0.6: the same width around 0.5
    per_seed = _per_seed([0.1, 0.2, 0.3], [0.4, 0.5, 0.6])
    text: str = bench.markdown(per_seed, bench.summary(per_seed), argparse.Namespace(quick=False))
    assert text.startswith(
        "## Explanations: are the per-objective parts faithful? (simulated shops)\n"
    )
    assert (
        "| within-seed interval excludes 0 | NEW − OLD, 95% t interval over seeds | sig. at 95% |"
        in text
    )
    assert "| demo shop (simulated) | clicks, revenue, diversity | 3 | " in text
    assert "| +0.200 ± 0.100 | above 0 in 3/3 | +0.200 [-0.048, +0.448] | no |" in text
    assert "| +0.500 ± 0.100 | above 0 in 3/3 | +0.500 [+0.252, +0.748] | yes |" in text
    assert (
        "| demo shop (simulated) | 0 | 0.300 | 1.000 | 0.300 | 0.400 | +0.100 [+0.090, +0.110] | 1,000 |"
        in text
    )
    assert (
        "predict the deletion better in every seed (3/3 within-seed intervals above 0) "
        "(Spearman 0.500 ± 0.100 vs 0.300 ± 0.000); NEW − OLD over the 3 seeds, 95% t "
        "interval: +0.200 [-0.048, +0.448], which holds 0: not significant at 95%."
    ) in text
    assert (
        "NEW − OLD over the 3 seeds, 95% t interval: +0.500 [+0.252, +0.748], significant at 95%."
        in text
    )


def test_one_seed_has_no_interval(bench: ModuleType) -> None:
    per_seed = _per_seed([0.1], [0.4])
    text: str = bench.markdown(per_seed, bench.summary(per_seed), argparse.Namespace(quick=False))
    assert "| above 0 in 1/1 | — | — |" in text
    assert "over the 1 seeds" not in text
