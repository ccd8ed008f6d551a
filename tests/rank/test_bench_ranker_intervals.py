"""benchmarks/bench_ranker.py: each multi-task model minus the single-task model, paired by
training seed, with the 95% t interval over the seeds and the sig. at 95% cell (a tiny
hand-made report, hand-checked against the t table; no training)."""

from __future__ import annotations

import json
from typing import Any

from tests.bench_scripts import load_bench_script

bench = load_bench_script("bench_ranker", "bench_ranker_under_test")


def _rows(model: str, task: str, aucs: list[float]) -> list[dict[str, Any]]:
    return [
        {"data": "simulator", "seed": seed, "model": model, "task": task, "auc": auc}
        for seed, auc in enumerate(aucs)
    ]


# single-task 0.5 in every seed; mmoe ahead by 0.01, 0.02, 0.03 (mean 0.02, sd 0.01,
# t(0.975, 2 df) = 4.302653 -> half width 0.0248414: holds 0); esmm ahead by 0.010, 0.011,
# 0.012 (sd 0.001 -> half width 0.0024841: [+0.0085, +0.0135], excludes 0)
ROWS = [
    *_rows("single-task", "click", [0.5, 0.5, 0.5]),
    *_rows("mmoe", "click", [0.51, 0.52, 0.53]),
    *_rows("esmm", "click", [0.510, 0.511, 0.512]),
]


def test_paired_rows_carry_the_t_interval_and_the_sig_cell() -> None:
    lines = bench.against_single_task(ROWS, "simulator")
    assert lines[0] == (
        "| model | task | Δ AUC vs single-task (mean ± sd) | Δ AUC, 95% t interval over seeds"
        " | sig. at 95% | ahead in seeds |"
    )
    assert lines[2] == "| mmoe | click | +0.0200 ± 0.0100 | +0.0200 [-0.0048, +0.0448] | no | 3/3 |"
    assert (
        lines[3] == "| esmm | click | +0.0110 ± 0.0010 | +0.0110 [+0.0085, +0.0135] | yes | 3/3 |"
    )


def test_the_verdict_follows_the_intervals() -> None:
    assert bench.paired_verdict(ROWS, "simulator") == (
        "Over the 3 seeds, significantly above the single-task model at 95%: esmm on click;"
        " the other difference's interval holds 0 (no difference shown)."
    )
    flat = [r for r in ROWS if r["model"] != "esmm"]
    assert bench.paired_verdict(flat, "simulator") == (
        "Over the 3 seeds no multi-task model differs significantly from the single-task"
        " model at 95%: every interval holds 0."
    )


def test_one_seed_has_no_paired_table() -> None:
    one = [r for r in ROWS if r["seed"] == 0]
    assert bench.against_single_task(one, "simulator") == []


def test_the_stored_run_renders_the_audited_intervals() -> None:
    # read-only: the rows ranker.json stores (3 simulator seeds)
    stored = json.loads((bench.RESULTS / "ranker.json").read_text())
    lines = bench.against_single_task(stored["rows"], "simulator")
    assert "| mmoe | click | -0.0012 ± 0.0001 | -0.0012 [-0.0015, -0.0010] | yes | 0/3 |" in lines
    assert "| esmm | cart | +0.0031 ± 0.0035 | +0.0031 [-0.0056, +0.0118] | no | 3/3 |" in lines
