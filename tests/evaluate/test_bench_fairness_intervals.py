"""benchmarks/bench_fairness_simulator.py: the change against off with its 95% t interval
over the seeds and the sig. at 95% cell (a tiny hand-made result, hand-checked against the
t table, and the stored results read-only; nothing runs)."""

from __future__ import annotations

import json
from typing import Any

from tests.bench_scripts import load_bench_script

bench = load_bench_script("bench_fairness_simulator", "bench_fairness_simulator_under_test")


def _row(seed: int, run: str, clicks: float, revenue: float) -> dict[str, Any]:
    return {
        "seed": seed,
        "run": run,
        "weights": [1.0, 0.0, 0.0],
        "expected_clicks": clicks,
        "expected_revenue": revenue,
        "disparate_exposure": 1.0,
        "total_variation": 0.0,
        "sessions": 100,
    }


# off at 1.0 in every seed; exposure's clicks -4%, -5%, -6% (mean -5, sd 1, t(0.975, 2 df)
# = 4.302653 -> half width 2.484: [-7.48, -2.52], excludes 0) and revenue +1%, +2%, +3%
# (mean +2, half width 2.484: [-0.48, +4.48], holds 0); FA*IR equal to off.
ROWS = [
    row
    for seed, (clicks, revenue) in enumerate([(0.96, 1.01), (0.95, 1.02), (0.94, 1.03)])
    for row in (
        _row(seed, "off", 1.0, 1.0),
        _row(seed, "exposure", clicks, revenue),
        _row(seed, "FA*IR", 1.0, 1.0),
    )
]


def test_per_seed_changes_and_their_interval_cells() -> None:
    clicks = bench.seed_changes(ROWS, "exposure", "expected_clicks")
    assert [round(c, 9) for c in clicks] == [-4.0, -5.0, -6.0]
    assert bench.interval_cells(clicks) == ("-5.0 [-7.5, -2.5]", "yes")
    revenue = bench.seed_changes(ROWS, "exposure", "expected_revenue")
    assert bench.interval_cells(revenue) == ("+2.0 [-0.5, +4.5]", "no")
    assert bench.direction(clicks) == "lower"
    assert bench.direction(revenue) == "no significant change"
    assert bench.interval_cells([1.0]) == ("", "")


def test_the_rendered_section_carries_the_intervals() -> None:
    names = bench.measured(ROWS)
    table = bench.summarize(ROWS, names)
    bench.mark_front(table)
    result = {"rows": ROWS, "summary": table, "seeds": 3, "items": 10, "command": "x",
              "wall_s": 6.0}  # fmt: skip
    lines = bench.markdown(result, None)
    assert "| exposure | clicks | -5.0 | -5.0 [-7.5, -2.5] | yes |" in lines
    assert "| exposure | revenue | +2.0 | +2.0 [-0.5, +4.5] | no |" in lines
    assert (
        "- exposure against off over the 3 seeds: clicks lower, revenue no significant change."
    ) in lines
    assert (
        "| 1/0/0 | exposure | -5.0 | -5.0 [-7.5, -2.5] | yes | +2.0 | +2.0 [-0.5, +4.5] | no |"
        in lines
    )


def test_the_stored_runs_render_the_audited_intervals() -> None:
    # read-only: the per-seed rows the two stored runs keep (5 seeds each)
    simulator = json.loads((bench.RESULTS / "fairness_simulator.json").read_text())
    clicks = bench.seed_changes(simulator["rows"], "exposure", "expected_clicks")
    revenue = bench.seed_changes(simulator["rows"], "exposure", "expected_revenue")
    assert bench.interval_cells(clicks) == ("-4.3 [-6.2, -2.4]", "yes")
    assert bench.interval_cells(revenue) == ("-5.1 [-6.8, -3.3]", "yes")
    icecat = json.loads((bench.RESULTS / "fairness_icecat.json").read_text())
    clicks = bench.seed_changes(icecat["rows"], "exposure", "expected_clicks")
    assert bench.interval_cells(clicks) == ("+11.8 [-1.1, +24.7]", "no")
