"""benchmarks/bench_moo.py over split seeds: the seeds section (held-out HV mean ± sd, the
paired differences to the weighted-sum grid with a Student t interval over the seeds) and
the pooling of per-seed reports run in separate processes, on hand-made reports."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.bench_scripts import load_bench_script

T_975_2DF = 4.302653  # Student t, 0.975 quantile, 2 degrees of freedom (tables)
STORED = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "moo.json"


@pytest.fixture(scope="module")
def moo() -> ModuleType:
    return load_bench_script("bench_moo", "bench_moo_seeds_under_test")


def report(seed: int, base: float, deltas: dict[str, float], grid_gap: float) -> dict[str, Any]:
    """A per-seed report with just what the seeds section reads: one problem, the
    weighted-sum grid at HV `base`, each other method at `base` + its delta, and the
    990-point grid at the long NSGA-II run's HV minus `grid_gap`."""
    rows: list[dict[str, Any]] = [{"method": "weighted-sum", "hv_test": base}]
    rows += [{"method": m, "hv_test": base + d} for m, d in deltas.items()]
    long = next(r["hv_test"] for r in rows if r["method"] == "nsga2 (1000 evaluations)")
    return {
        "seed": seed,
        "command": f"python benchmarks/bench_moo.py --seeds {seed}",
        "wall_s": 300.0 + seed,
        "budget": 30,
        "nsga2_budget": 1000,
        "n_requests": 400,
        "problems": [
            {
                "name": "simulator",
                "note": "hand-made",
                "n_tune": 200,
                "n_test": 200,
                "rows": rows,
                "grid_at": {"1000": {"grid_points": 990, "hv_test": long - grid_gap}},
            }
        ],
    }


# mmr - weighted-sum: 0.01, 0.02, 0.03 (mean 0.02, sd 0.01); chebyshev: -0.05, -0.06,
# -0.04 (mean -0.05, sd 0.01); NSGA-II(1000) - grid: 0.001, 0.002, 0.003
REPORTS = [
    report(0, 0.5, {"chebyshev": -0.05, "mmr": 0.01, "nsga2 (1000 evaluations)": 0.02}, 0.001),
    report(1, 0.6, {"chebyshev": -0.06, "mmr": 0.02, "nsga2 (1000 evaluations)": 0.01}, 0.002),
    report(2, 0.4, {"chebyshev": -0.04, "mmr": 0.03, "nsga2 (1000 evaluations)": 0.03}, 0.003),
]


def section(moo: ModuleType) -> list[str]:
    return list(moo.seeds_section([moo.seed_summary(r) for r in REPORTS], "simulator"))


def row(lines: list[str], method: str) -> list[str]:
    found = [line for line in lines if line.startswith(f"| {method} |")]
    assert len(found) == 1
    return [cell.strip() for cell in found[0].strip("|").split("|")]


def test_t_interval_by_hand(moo: ModuleType) -> None:
    half = T_975_2DF * 0.01 / math.sqrt(3)  # 0.0248414
    assert f"{0.02 - half:+.4f}" == "-0.0048" and f"{0.02 + half:+.4f}" == "+0.0448"
    lines = section(moo)
    assert lines[0] == "#### simulator: over split seeds (3 seeds: 0, 1, 2)"
    assert row(lines, "mmr") == [
        "mmr",
        "0.5200 ± 0.0954",  # 0.51, 0.62, 0.43: sd sqrt((0.01² + 0.1² + 0.09²) / 2)
        "+0.0100, +0.0200, +0.0300",
        "+0.0200 [-0.0048, +0.0448]",
        "no",
        "3/3",
    ]
    assert row(lines, "chebyshev") == [
        "chebyshev",
        "0.4500 ± 0.0900",  # 0.45, 0.54, 0.36
        "-0.0500, -0.0600, -0.0400",
        "-0.0500 [-0.0748, -0.0252]",
        "yes",
        "0/3",
    ]
    assert row(lines, "weighted-sum") == [
        "weighted-sum",
        "0.5000 ± 0.1000",
        "(baseline)",
        "(baseline)",
        "",
        "",
    ]


def test_sig_cell_and_verdict(moo: ModuleType) -> None:
    assert moo.over_seeds([0.01, 0.02, 0.03]) == ("+0.0200 [-0.0048, +0.0448]", "no")
    assert moo.over_seeds([-0.05, -0.06, -0.04]) == ("-0.0500 [-0.0748, -0.0252]", "yes")
    verdict = section(moo)[-2]
    assert "significantly above the weighted-sum grid: none" in verdict
    assert "significantly below: chebyshev;" in verdict
    # NSGA-II(1000) minus the 990-point grid: 0.001, 0.002, 0.003 -> half 0.00248414
    assert (
        "nsga2 (1000 evaluations) minus the weighted-sum grid of 990 points, held out, "
        "paired by seed: +0.0010, +0.0020, +0.0030; mean +0.0020 [-0.0005, +0.0045]"
    ) in verdict
    assert verdict.endswith("(95% t interval over the seeds; sig. at 95%: no).")


def test_a_single_seed_renders_no_seeds_section(moo: ModuleType) -> None:
    one = moo.pool(REPORTS[0], [moo.seed_summary(REPORTS[0])])
    assert "over_seeds" not in one
    assert moo.seeds_section([moo.seed_summary(REPORTS[0])], "simulator") == []
    assert moo.seeds_note(one) == ""


def test_the_stored_run_renders_as_before(moo: ModuleType) -> None:
    # moo.json's main report alone renders without any seeds text; with seeds pooled,
    # every line of that render is still there, in order (the header paragraph extended)
    stored = json.loads(STORED.read_text())
    main = {k: v for k, v in stored.items() if k != "over_seeds"}
    alone = moo.markdown(moo.pool(main, []))
    assert alone == moo.markdown(main)
    assert "over split seeds" not in alone.lower()
    other = json.loads(json.dumps(main))
    other["seed"] = main["seed"] + 1
    for problem in other["problems"]:
        for r in problem["rows"]:
            r["hv_test"] += 0.001
    both = moo.markdown(moo.pool(main, [moo.seed_summary(other)])).split("\n")
    assert "over split seeds" in "\n".join(both).lower()
    at = 0
    for line in alone.split("\n"):
        hits = [i for i in range(at, len(both)) if both[i].startswith(line)]
        assert hits, line[:80]
        assert line == both[hits[0]] or line.startswith("Objectives:")
        at = hits[0] + 1


def test_collect_pools_the_store(moo: ModuleType, tmp_path: Path) -> None:
    main = REPORTS[0]
    # seed 1 already pooled in the stored moo.json, seed 2 run since in another process
    stored = moo.pool(main, [moo.seed_summary(REPORTS[1])])
    moo.store_seed(REPORTS[2], tmp_path)
    out = moo.collect(stored, tmp_path)
    assert out["over_seeds"]["seeds"] == [0, 1, 2]
    assert (tmp_path / "seed-0.json").exists()  # the main run goes into the store
    assert json.loads((tmp_path / "seed-0.json").read_text()) == main
    assert moo.seeds_section(out["over_seeds"]["runs"], "simulator") == section(moo)
    # a seed of another setting is refused
    odd = json.loads(json.dumps(REPORTS[1]))
    odd["nsga2_budget"] = 200
    moo.store_seed(odd, tmp_path)
    with pytest.raises(ValueError, match="seed 1 ran another setting"):
        moo.collect(stored, tmp_path)


def test_keep_stored_refuses_another_setting_before_running(
    moo: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A seed run to be pooled with the stored one but with another budget stops at once
    (the stored moo.json ran a budget of 30), before any work or any file is written."""
    argv = ["bench_moo.py", "--seeds", "5", "--keep-stored", "--budget", "20", "--no-speed"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as stopped:
        moo.main()
    assert stopped.value.code == 2
    assert "is not the stored run's" in capsys.readouterr().err
