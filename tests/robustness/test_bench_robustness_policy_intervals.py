"""benchmarks/bench_robustness_policy.py: defended minus undefended paired by seed with its
95% t interval over the seeds and the sig. at 95% cell (a tiny hand-made result,
hand-checked against the t table, and the stored result read-only; nothing trains)."""

from __future__ import annotations

import json
from typing import Any

from tests.bench_scripts import load_bench_script

bench = load_bench_script("bench_robustness_policy", "bench_robustness_policy_under_test")


def _variant(values: list[float], clean: list[float]) -> dict[str, Any]:
    keeps = [v / c for v, c in zip(values, clean, strict=True)]
    return {"values": values, "reward": bench.summary(values), "keeps": bench.summary(keeps)}


# clean: undefended 3.0 in every seed, defended 2.99, 2.98, 2.97 -> differences -0.01,
# -0.02, -0.03 (mean -0.02, sd 0.01, t(0.975, 2 df) = 4.302653 -> half width 0.0248:
# [-0.045, +0.005], holds 0)
CLEAN_U, CLEAN_D = [3.0, 3.0, 3.0], [2.99, 2.98, 2.97]
FOUND: dict[str, Any] = {
    "clean": {
        "undefended": bench.summary(CLEAN_U),
        "defended": bench.summary(CLEAN_D),
        "defended minus undefended": bench.summary(bench.paired(CLEAN_D, CLEAN_U)),
    },
    "scenarios": {
        "bot-traffic": {
            "description": "bots",
            "middle": 0.5,
            "rows": [
                {
                    "strength": 0.0,
                    "undefended": _variant(CLEAN_U, CLEAN_U),
                    "defended": _variant(CLEAN_D, CLEAN_D),
                },
                {
                    "strength": 0.5,
                    "undefended": _variant([2.1, 2.4, 2.7], CLEAN_U),
                    "defended": _variant(CLEAN_D, CLEAN_D),
                },
            ],
        }
    },
    "config": {
        "seeds": [0, 1, 2],
        "steps": 1,
        "batch_sessions": 2,
        "actor_cap": 1,
        "reward_clip": 5.0,
        "weights": [[1.0, 0.0, 0.0]],
        "seconds": 60.0,
        "command": "x",
        "machine": "m",
    },
}


def test_the_clean_row_carries_the_paired_interval_and_the_sig_cell() -> None:
    text = bench.render(FOUND)
    assert (
        "| clean | 3.000 ± 0.000 | 2.980 ± 0.010 | -0.020 ± 0.010 | -0.020 [-0.045, +0.005] | no |"
        in text
    )
    assert "defended minus undefended -0.020 [-0.045, +0.005] (no significant difference)" in text


def test_keeps_are_paired_in_points() -> None:
    # reward: defended minus undefended 0.89, 0.58, 0.27 (mean 0.58, sd 0.31 -> half width
    # 4.302653 * 0.31 / sqrt(3) = 0.770: [-0.190, +1.350], holds 0); keeps: undefended 70%,
    # 80%, 90%, defended 100% -> +30, +20, +10 points (mean +20, sd 10 -> half width 24.84:
    # [-4.8, +44.8], holds 0); undefended keeps 80% [55.2%, 104.8%]
    text = bench.render(FOUND)
    assert "| 0.5 | 2.400 ± 0.300 | 80.0% ± 10.0% | 2.980 ± 0.010 | 100.0% ± 0.0% " in text
    assert "| +0.580 [-0.190, +1.350] | no | +20.0 [-4.8, +44.8] | no |" in text
    assert (
        "Over the seeds: undefended keeps 80.0% [55.2%, 104.8%], defended 100.0% [100.0%, "
        "100.0%]; defended minus undefended +20.0 [-4.8, +44.8] points (no significant "
        "difference); not met on the intervals (the undefended's interval reaches above 90%)."
    ) in text


def test_the_stored_run_renders_the_audited_intervals() -> None:
    found = json.loads((bench.RESULTS / "robustness_policy.json").read_text())  # read-only
    text = bench.render(found)
    assert "| -0.044 ± 0.009 | -0.044 [-0.066, -0.022] | yes |" in text
    assert "| +0.875 [+0.247, +1.504] | yes | +29.0 [+9.8, +48.2] | yes |" in text
