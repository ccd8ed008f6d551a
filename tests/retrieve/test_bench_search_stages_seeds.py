"""benchmarks/bench_search_stages.py: the char n-gram variant over training seeds, against
the plain LTR of the same seed (per-seed rows, and the seed-paired differences with their
Student t interval over the seeds)."""

from __future__ import annotations

import numpy as np
import pytest

from paretorec.retrieve.second_stage import TrainingReport
from tests.bench_scripts import load_bench_script

stages = load_bench_script("bench_search_stages", "bench_search_stages_seeds_under_test")
spread = load_bench_script("spread", "bench_spread_for_stages")

# t(0.975, 2 df) = 4.302653: with 3 seeds whose differences have sd 0.01, the interval's
# half width is 4.302653 * 0.01 / sqrt(3) = 0.024841
HALF = 4.302653 * 0.01 / np.sqrt(3)
NDCG_DIFFS = [0.01, 0.02, 0.03]  # mean 0.02, sd 0.01: [-0.0048, +0.0448], holds 0
RECALL_DIFFS = [0.02, 0.03, 0.04]  # mean 0.03, sd 0.01: [+0.0052, +0.0548], excludes 0


def plain() -> dict[int, dict[str, dict[str, float]]]:
    return {
        s: {"ndcg@10": {"q1": 0.4, "q2": 0.6}, "recall@100": {"q1": 0.5, "q2": 0.7}}
        for s in (0, 1, 2)
    }


def char() -> dict[int, dict[str, dict[str, float]]]:
    # NDCG@10: the whole gain of a seed on q1 (2 d there, 0 on q2), so the seed-averaged
    # per-query differences are 0.04 and 0: a bootstrap over 2 queries holds 0
    # Recall@100: both queries gain the seed's d, so the averaged differences are 0.03, 0.03
    return {
        s: {
            "ndcg@10": {"q1": 0.4 + 2 * dn, "q2": 0.6},
            "recall@100": {"q1": 0.5 + dr, "q2": 0.7 + dr},
        }
        for s, dn, dr in zip((0, 1, 2), NDCG_DIFFS, RECALL_DIFFS, strict=True)
    }


def test_hand_checked_half_width() -> None:
    mean, lower, upper = spread.t_interval(NDCG_DIFFS)
    assert mean == pytest.approx(0.02)
    assert upper - mean == pytest.approx(HALF, abs=1e-6)
    assert mean - lower == pytest.approx(0.0248414, abs=1e-6)


def test_seed_differences_rows() -> None:
    rows = stages.seed_differences(char(), plain())
    assert [r["metric"] for r in rows] == ["NDCG@10", "Recall@100"]
    ndcg, recall = rows
    assert [ndcg[f"seed {s}"] for s in (0, 1, 2)] == ["+0.0100", "+0.0200", "+0.0300"]
    assert ndcg["mean over seeds [95% t CI]"] == "+0.0200 [-0.0048, +0.0448]"
    assert ndcg[stages.SIG] == "no"
    assert ndcg["each query averaged over the seeds [95% CI]"] == "+0.0200 [+0.0000, +0.0400]"
    assert [recall[f"seed {s}"] for s in (0, 1, 2)] == ["+0.0200", "+0.0300", "+0.0400"]
    assert recall["mean over seeds [95% t CI]"] == "+0.0300 [+0.0052, +0.0548]"
    assert recall[stages.SIG] == "yes"
    assert (
        recall["each query averaged over the seeds [95% CI]"] == "+0.0300 [+0.0300, +0.0300] (sig.)"
    )
    # the column order the markdown table prints
    assert list(ndcg) == [
        "metric",
        "seed 0",
        "seed 1",
        "seed 2",
        "mean over seeds [95% t CI]",
        stages.SIG,
        "each query averaged over the seeds [95% CI]",
    ]
    table = stages.markdown(rows)
    assert table[2] == (
        "| NDCG@10 | +0.0100 | +0.0200 | +0.0300 | +0.0200 [-0.0048, +0.0448] | no "
        "| +0.0200 [+0.0000, +0.0400] |"
    )


def test_seed_differences_need_the_same_seeds_and_queries() -> None:
    theirs = plain()
    del theirs[2]
    with pytest.raises(AssertionError):
        stages.seed_differences(char(), theirs)
    swapped = plain()
    swapped[0]["ndcg@10"] = {"q2": 0.6, "q1": 0.4}
    with pytest.raises(AssertionError):
        stages.seed_differences(char(), swapped)


def test_versus_seed_rows() -> None:
    reports = {
        s: TrainingReport(
            n_train_queries=10,
            n_train_rows=100,
            n_valid_queries=5,
            best_round=10 + s,
            valid_ndcg_at_10=0.45 + s / 100,
        )
        for s in (0, 1, 2)
    }
    rows, summary = stages.versus_seed_rows(reports, char(), plain())
    assert [r["seed"] for r in rows] == ["0", "1", "2"]
    first = rows[0]
    assert first["best round"] == "10"
    assert first["valid NDCG@10 (union)"] == pytest.approx(0.45)
    assert first["test NDCG@10"] == pytest.approx(0.51)
    assert first["test Recall@100"] == pytest.approx(0.62)
    # seed 0 against the plain LTR of seed 0, over the 2 queries
    assert first["Δ NDCG@10 [95% CI]"] == "+0.0100 [+0.0000, +0.0200]"
    assert first[f"{stages.SIG}, NDCG@10"] == "no"
    assert first["Δ Recall@100 [95% CI]"] == "+0.0200 [+0.0200, +0.0200]"
    assert first[f"{stages.SIG}, Recall@100"] == "yes"
    # test means 0.51, 0.52, 0.53 and 0.62, 0.63, 0.64: sd 0.01
    assert summary == {"ndcg@10": "0.5200 ± 0.0100", "recall@100": "0.6300 ± 0.0100"}
