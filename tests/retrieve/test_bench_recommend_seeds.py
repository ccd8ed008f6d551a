"""benchmarks/recommend_seeds.py: the training seeds of the recommendation benchmark,
collected from the stored seed-0 run and the seed runs kept beside it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.bench_scripts import load_bench_script

seeds = load_bench_script("recommend_seeds", "bench_recommend_seeds_under_test")


def lists(ndcg: list[float]) -> dict[str, np.ndarray]:
    values = np.asarray(ndcg, dtype=np.float64)
    return {"ndcg@10": values, "recall@10": (values > 0).astype(np.float64)}


def run(results: dict[str, float], command: str) -> dict:
    training = {
        "two-tower": {"epochs_run": 7, "best_epoch": 4, "stopped_early": True},
    }
    rows = {name: {"ndcg@10": v, "recall@10": v, "recall@50": 2 * v} for name, v in results.items()}
    return {"results": rows, "training": training, "command": command}


# four test users; co-visitation and the peer are the stored run's (no seed changes them)
COVIS = [0.0, 0.5, 0.0, 1.0]
PEER = [0.0, 0.0, 0.5, 0.5]
SEED0 = {"learned merge": [1.0, 0.5, 0.0, 1.0], "merge": [0.5, 0.5, 0.0, 1.0]}
SEED3 = {"learned merge": [0.5, 0.5, 0.5, 1.0], "merge": [0.0, 0.5, 0.0, 1.0]}


def stored(tmp_path: Path) -> tuple[dict, dict]:
    means = {name: float(np.mean(v)) for name, v in SEED0.items()}
    report = run(means, "bench_recommend.py --only ours")
    per_user = {name: lists(v) for name, v in SEED0.items()}
    per_user |= {"covisitation": lists(COVIS), "RecBole SASRec": lists(PEER)}
    return report, per_user


def test_collect_needs_two_seeds(tmp_path: Path) -> None:
    report, per_user = stored(tmp_path)
    assert seeds.collect_seeds(report, per_user, tmp_path / "none", "RecBole SASRec") is None
    assert seeds.render_seeds(None, {}) == []


def test_collect_seed_runs_beside_the_stored_one(tmp_path: Path) -> None:
    report, per_user = stored(tmp_path)
    folder = tmp_path / "seeds"
    means = {name: float(np.mean(v)) for name, v in SEED3.items()}
    seed_lists = {name: lists(v) for name, v in SEED3.items()} | {"covisitation": lists(COVIS)}
    seeds.save_seed_run(folder, 3, run(means, "bench_recommend.py --model-seed 3"), seed_lists)

    found = seeds.collect_seeds(report, per_user, folder, "RecBole SASRec")

    assert found["seeds"] == [0, 3]
    assert found["rows"]["learned merge"]["ndcg@10"] == [0.625, 0.625]
    assert found["rows"]["merge"]["ndcg@10"] == [0.5, 0.375]
    assert "two-tower" not in found["rows"]  # no row in these runs
    pairs = {(c["a"], c["b"], c["metric"]): c for c in found["comparisons"]}
    # learned merge minus the peer per user, averaged over seeds 0 and 3:
    # seed 0: [1, .5, -.5, .5] (mean .375), seed 3: [.5, .5, 0, .5] (mean .375)
    vs_peer = pairs[("learned merge", "RecBole SASRec", "ndcg@10")]
    assert vs_peer["difference"] == pytest.approx(0.375)
    assert vs_peer["per_seed"] == pytest.approx([0.375, 0.375])
    assert vs_peer["ahead"] == 2
    # merge minus co-visitation (mean 0.375): seed 0 +0.125, seed 3 0.0 (not ahead)
    vs_covis = pairs[("merge", "covisitation", "ndcg@10")]
    assert vs_covis["per_seed"] == pytest.approx([0.125, 0.0])
    assert vs_covis["ahead"] == 1
    assert vs_covis["difference"] == pytest.approx(0.0625)
    # t over the 2 seeds: mean 0.0625, sd 0.0884, t(0.975, 1 df) 12.7062 -> half 0.7941
    assert vs_covis["t_over_seeds"] == pytest.approx((0.0625, -0.7316, 0.8566), abs=1e-4)
    assert vs_peer["t_over_seeds"] == pytest.approx((0.375, 0.375, 0.375))

    text = "\n".join(seeds.render_seeds(found, {"learned merge": "learned merge (the default)"}))
    assert "### Training seeds (2 seeds: 0, 3)" in text
    assert "| learned merge (the default) | 2 | 0.6250 ± 0.0000 |" in text
    assert "`python benchmarks/bench_recommend.py --model-seed 3`" in text
    assert "seed 0: two-tower 7 (best 5, stopped)" in text  # stored 0-based
    # sig. needs both intervals to exclude 0: the peer pair's t interval does, but its
    # bootstrap over the 4 users (per-user gains .75 .5 -.25 .5) reaches below 0
    assert not vs_peer["significant"]
    assert "| [+0.3750, +0.3750] | no |" in text
    assert "every run stopped by itself" in text
    assert "| merge | covisitation | ndcg@10 | +0.0625" in text
    assert "| [-0.7316, +0.8566] | no |" in text


def test_a_seed_run_without_the_peer_uses_the_stored_peer(tmp_path: Path) -> None:
    report, per_user = stored(tmp_path)
    del per_user["RecBole SASRec"]
    folder = tmp_path / "seeds"
    seed_lists = {name: lists(v) for name, v in SEED3.items()} | {"covisitation": lists(COVIS)}
    seeds.save_seed_run(folder, 1, run({"merge": 0.375, "learned merge": 0.625}, "x"), seed_lists)
    found = seeds.collect_seeds(report, per_user, folder, "RecBole SASRec")
    # no peer lists stored: the pairs with the peer are left out, the rest kept
    assert {c["b"] for c in found["comparisons"]} == {"covisitation", "merge"}


def test_convergence_pairs_after_with_before_and_recbole() -> None:
    convergence = load_bench_script("recommend_convergence", "bench_convergence_under_test")
    before, after = convergence.VARIANTS
    lists = {
        f"two-tower|{before}|0|ndcg@10": np.array([0.0, 0.0, 0.5, 0.0]),
        f"two-tower|{after}|0|ndcg@10": np.array([1.0, 0.0, 0.5, 0.5]),
        f"two-tower|{before}|1|ndcg@10": np.array([0.0, 0.5, 0.0, 0.0]),
        f"two-tower|{after}|1|ndcg@10": np.array([0.5, 0.5, 0.5, 0.0]),
        f"two-tower|{after}|2|ndcg@10": np.array([1.0, 1.0, 1.0, 1.0]),  # no before: left out
        "RecBole SASRec|-|-|ndcg@10": np.array([0.5, 0.5, 0.5, 0.5]),
    }
    # split over two files, as parallel processes write them
    rows = convergence.paired_rows([dict(list(lists.items())[:2]), dict(list(lists.items())[2:])])
    found = {(r["model"], r["against"], r["metric"]): r for r in rows}
    assert set(found) == {
        ("two-tower", "before", "ndcg@10"),
        ("two-tower", "RecBole SASRec", "ndcg@10"),
    }
    vs_before = found[("two-tower", "before", "ndcg@10")]
    assert vs_before["seeds"] == [0, 1]
    assert vs_before["per_seed"] == pytest.approx([0.375, 0.25])
    assert vs_before["difference"] == pytest.approx(0.3125) and vs_before["ahead"] == 2
    vs_recbole = found[("two-tower", "RecBole SASRec", "ndcg@10")]
    assert vs_recbole["per_seed"] == pytest.approx([0.0, -0.125])
    assert vs_recbole["ahead"] == 0 and not vs_recbole["significant"]


def test_learned_merge_seeds_pair_each_seed_with_the_fixed_baselines() -> None:
    merge = load_bench_script("bench_learned_merge", "bench_learned_merge_under_test")
    covis = lists([0.0, 0.5, 0.0, 1.0])
    seed_lists = {0: lists([1.0, 0.5, 0.0, 1.0]), 1: lists([0.5, 0.5, 0.5, 1.0])}
    for values in seed_lists.values():
        values["recall@50"] = values["recall@10"]
    found = merge.seeds_section(seed_lists, {"covisitation": covis})
    assert found["seeds"] == [0, 1]
    assert found["test"]["ndcg@10"] == [0.625, 0.625]
    ndcg = next(c for c in found["comparisons"] if c["metric"] == "ndcg@10")
    assert ndcg["b"] == "covisitation" and ndcg["per_seed"] == pytest.approx([0.25, 0.25])
    assert ndcg["t_over_seeds"] == pytest.approx((0.25, 0.25, 0.25))
    text = "\n".join(merge.render_seeds(found))
    assert "### Training seeds of the merge (2: 0, 1)" in text
    assert "| covisitation | ndcg@10 | +0.2500 [" in text and "| +0.2500 +0.2500 | 2/2 |" in text
    assert merge.render_seeds(None) == []
