"""benchmarks/bench_loop.py's loop.md: loop − frozen's 95% t interval over the seeds (the
interval that counts the variance between seeds), its "sig. at 95%" cell, a verdict
generated from it, and a title that says the shop is simulated."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from tests.bench_scripts import load_bench_script


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench_script("bench_loop", "bench_loop_under_test")


def _values(weighted: float, clicks: float = 0.5) -> dict[str, float]:
    return {"clicks": clicks, "purchases": 0.1, "revenue": 0.2, "weighted": weighted}


def _runs(gains: list[float], click_gains: list[float]) -> list[dict[str, Any]]:
    """Day 1 (before the drift): both arms alike; day 2: loop ahead by `gains` (weighted)
    and `click_gains` (clicks), one seed each."""
    return [
        {
            "seed": seed,
            "days": [
                {
                    "day": 1,
                    "frozen": _values(0.5),
                    "loop": _values(0.5),
                    "promoted": False,
                    "really_better": False,
                },
                {
                    "day": 2,
                    "frozen": _values(0.3),
                    "promoted": True,
                    "really_better": True,
                    "loop": _values(0.3 + gain, 0.5 + click_gain),
                },
            ],
        }
        for seed, (gain, click_gain) in enumerate(zip(gains, click_gains, strict=True))
    ]


def _render(bench: ModuleType, gains: list[float], catalogs: dict[str, Any] | None = None) -> str:
    settings = {"seconds": 10.0, "seeds": len(gains), "days": 2}
    text: str = bench.render(settings, _runs(gains, [0.04, 0.05, 0.06]), catalogs)
    return text


def test_the_t_interval_over_seeds_and_its_sig_cell(bench: ModuleType) -> None:
    # differences 0.01, 0.02, 0.03: mean 0.02, sd 0.01, t(0.975, 2 df) = 4.302653 ->
    # half width 0.0248414; clicks 0.04, 0.05, 0.06: the same width around 0.05
    text = _render(bench, [0.01, 0.02, 0.03])
    assert text.startswith("## The learning loop in a drifting simulated shop\n")
    assert "| loop − frozen, 95% t interval over seeds | sig. at 95% |" in text
    assert "| 2 (drifted) | weighted | 0.3000 ± 0.0000 | 0.3200 ± 0.0100 | " in text
    assert "| 0.3200 ± 0.0100 | +0.0200 [-0.0048, +0.0448] | no |" in text
    assert (
        "| 2 (drifted) | clicks | 0.5000 ± 0.0000 | 0.5500 ± 0.0100 | "
        "+0.0500 [+0.0252, +0.0748] | yes |"
    ) in text
    assert (
        "| 1 | weighted | 0.5000 ± 0.0000 | 0.5000 ± 0.0000 | +0.0000 [+0.0000, +0.0000] | no |"
    ) in text
    assert (
        "Loop minus frozen on day 2, weighted, paired by seed: 0.0200 ± 0.0100 (per seed: "
        "+0.0100, +0.0200, +0.0300); loop ahead in 3/3 seeds; loop − frozen over the 3 seeds, "
        "95% t interval: +0.0200 [-0.0048, +0.0448], holds 0: not significant at 95%."
    ) in text


def test_the_verdict_follows_the_numbers(bench: ModuleType) -> None:
    text = _render(bench, [0.04, 0.05, 0.06])
    assert (
        "loop ahead in 3/3 seeds; loop − frozen over the 3 seeds, 95% t interval: "
        "+0.0500 [+0.0252, +0.0748], significant at 95%."
    ) in text


def test_one_seed_has_no_interval(bench: ModuleType) -> None:
    one = {"settings": {"seeds": 1, "days": 2, "seconds": 5.0}, "runs": _runs([0.01], [0.0])}
    text = _render(bench, [0.01, 0.02, 0.03], {"1000": one})
    assert "| 1,000 | 1 × 2 | 0.3000 | 0.3100 | 0.0100 | — | — | 1 (1) | 1 (1) | 5 |" in text
