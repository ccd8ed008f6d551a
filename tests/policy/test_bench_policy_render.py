"""benchmarks/bench_policy.py's generated text: the verdict compares only the same
algorithm on both sides, at the measured ratio of compute, and the header names what was
not run."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.bench_scripts import load_bench_script


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench_script("bench_policy", "bench_policy_under_test")


def _method(family: str, algorithm: str, updates: float, lists: float) -> dict[str, Any]:
    return {"family": family, "algorithm": algorithm, "updates": updates, "lists_shown": lists}


def _diff(mean: float, lower: float, upper: float) -> dict[str, float]:
    return {"mean": mean, "lower": lower, "upper": upper, "above": 0}


def _sim() -> dict[str, Any]:
    """3 objectives: PPO at 1x and 5x, REINFORCE at 1x; 4 objectives: PPO at 1x only.
    The mixed-algorithm family row (per-w 5x, 4.1x the updates) must not be cited."""
    three = {
        "methods": {
            "conditioned, ppo": _method("conditioned", "ppo", 1440, 30720),
            "per-w 1x, ppo": _method("per-w 1x", "ppo", 1440, 30720),
            "per-w 5x, ppo": _method("per-w 5x", "ppo", 7200, 153600),
            "conditioned, reinforce": _method("conditioned", "reinforce", 120, 30720),
            "per-w 1x, reinforce": _method("per-w 1x", "reinforce", 120, 30720),
            "scalarized greedy": {"family": "scalarized greedy"},
        },
        "conditioned_minus": {"per-w 5x": _diff(0.143, 0.012, 0.274)},
        "conditioned_minus_same_algorithm": {
            "per-w 1x, ppo": _diff(0.2, 0.1, 0.3),
            "per-w 5x, ppo": _diff(0.154, -0.001, 0.308),
            "per-w 1x, reinforce": _diff(-0.4, -0.6, -0.2),
        },
    }
    four = {
        "methods": {
            "conditioned, ppo": _method("conditioned", "ppo", 1440, 30720),
            "per-w 1x, ppo": _method("per-w 1x", "ppo", 1440, 30720),
        },
        "conditioned_minus": {},
        "conditioned_minus_same_algorithm": {"per-w 1x, ppo": _diff(-0.005, -0.159, 0.149)},
    }
    return {"n_seeds": 5, "steps": 120, "sets": {"3 objectives": three, "4 objectives": four}}


def test_verdict_cites_the_same_algorithm_rows_at_their_ratio(bench: ModuleType) -> None:
    text = bench.verdict(_sim())
    assert "+0.143" not in text  # the mixed-algorithm family row
    assert "ties at 5x (+0.154 [-0.001, +0.308]; its 1,440 updates and 30,720 lists shown " in (
        text
    )
    assert "are 1/5 of the per-w policies' 7,200 and 153,600)" in text
    assert "On 3 objectives with PPO, the conditioned policy wins at 1x (+0.200" in text
    assert "On 3 objectives with REINFORCE, the conditioned policy loses at 1x" in text
    assert "On 4 objectives with PPO, the conditioned policy ties at 1x" in text
    assert text.endswith(
        "Of these 4 same-algorithm comparisons the conditioned policy wins in 1 (3 objectives "
        "PPO at 1x); ties in 2 (3 objectives PPO at 5x, 4 objectives PPO at 1x); loses in 1 "
        "(3 objectives REINFORCE at 1x)."
    )


def test_budget_is_the_measured_ratio_of_updates(bench: ModuleType) -> None:
    methods = {
        "conditioned, ppo": _method("conditioned", "ppo", 1440, 30720),
        "per-w 5x, ppo": _method("per-w 5x", "ppo", 5880, 153600),
    }
    assert bench._budget(methods, "per-w 5x, ppo") == "4.1"
    assert bench._share(1440, 7200) == "1/5"
    assert bench._share(1440, 5880) == "0.24"
    assert bench._shares({"updates": 1440, "lists_shown": 30720}, methods["per-w 5x, ppo"]) == (
        "0.24 and 1/5"
    )


def test_header_names_what_was_not_run(bench: ModuleType) -> None:
    text = bench.ran_text(_sim())
    assert text.startswith(
        "Run: 3 objectives: PPO (conditioned, and per-w at 1x and 5x); REINFORCE "
        "(conditioned, and per-w at 1x). 4 objectives: PPO (conditioned, and per-w at 1x)."
    )
    assert text.endswith(
        "per-w PPO at 10x on 3 objectives; per-w REINFORCE at 5x and 10x on 3 objectives; "
        "per-w PPO at 5x and 10x on 4 objectives; REINFORCE on 4 objectives (no policy of "
        "either kind)."
    )


def test_tuning_text_reads_the_tuning_record(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    assert "No record of tuning them was found" in bench.tuning_text(_sim())
    default = {"trial": 0}
    configurations: dict[str, Any] = {"default": default, "knee": default, "best valid HV": default}
    record: dict[str, Any] = {
        "objectives": ["hypervolume", "clicks@w", "revenue@w", "diversity@w"],
        "requested_trials": 8,
        "timeout_s": 600.0,
        "trials": 5,
        "states": {"complete": 4, "pruned": 1},
        "steps": 30,
        "configurations": configurations,
    }
    (tmp_path / "tune_policy.json").write_text(json.dumps(record))
    text = bench.tuning_text(_sim())
    assert "5 Optuna trials of the 8 requested within its 600 s limit (4 complete, 1 pruned)" in (
        text
    )
    assert "on clicks, revenue, diversity" in text
    assert "30 steps, not 120); no trial beat the default" in text
    configurations["best valid HV"] = {"trial": 3}
    (tmp_path / "tune_policy.json").write_text(json.dumps(record))
    assert "trial 3 scored above the default" in bench.tuning_text(_sim())
