"""benchmarks/bench_policy.py --complete: the methods the default plans leave out go to a
supplementary job per (objective set, seed) whose name leaves the finished jobs' names
alone, and the summary merges a seed's two jobs before choosing and comparing, so the
"Run / Not run" lists and the verdict follow from what is present."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from tests.bench_scripts import load_bench_script


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench_script("bench_policy", "bench_policy_complete_under_test")


def _main_plans(bench: ModuleType, seed: int) -> tuple[Any, Any]:
    """The default run's plans of one seed (as simulator_part builds them, not --quick)."""
    ppo, reinforce = bench.Algorithm.PPO, bench.Algorithm.REINFORCE
    three = bench.Plan(
        "3 objectives", seed, 120, 2000, (ppo, reinforce), {ppo: (1, 5, 10), reinforce: (1, 5)}
    )
    four = bench.Plan("4 objectives", seed, 120, 2000, (ppo,), {ppo: (1, 5), reinforce: (1, 5)})
    return three, four


def test_finished_job_names_are_unchanged(bench: ModuleType) -> None:
    three, four = _main_plans(bench, 0)
    assert bench.job_path(three).name == (
        "3objectives-seed0-steps120-eval2000-ppo_reinforce-ppo1_5_10-reinforce1_5.json"
    )
    assert bench.job_path(four).name == (
        "4objectives-seed0-steps120-eval2000-ppo-ppo1_5-reinforce1_5.json"
    )


def test_supplements_hold_exactly_the_missing_methods(bench: ModuleType) -> None:
    three, four = _main_plans(bench, 3)
    sup3 = bench.supplement_of(three, bench.BUDGETS)
    assert sup3.methods == ("per-w 10x, reinforce",)
    assert (sup3.objectives, sup3.seed, sup3.steps, sup3.n_eval) == ("3 objectives", 3, 120, 2000)
    assert bench.job_path(sup3).name == (
        "3objectives-seed3-steps120-eval2000-supplement-reinforce10.json"
    )
    sup4 = bench.supplement_of(four, bench.BUDGETS)
    assert sup4.methods == (
        "per-w 10x, ppo",
        "conditioned, reinforce",
        "per-w 1x, reinforce",
        "per-w 5x, reinforce",
        "per-w 10x, reinforce",
    )
    assert bench.job_path(sup4).name == (
        "4objectives-seed3-steps120-eval2000-supplement-conditioned_reinforce-ppo10-"
        "reinforce1_5_10.json"
    )
    with pytest.raises(ValueError, match="not of another supplement"):
        bench.supplement_of(sup4, bench.BUDGETS)
    # a main plan with everything needs none
    full = bench.Plan(
        "4 objectives", 0, 120, 2000, bench.ALGORITHMS, {a: (1, 5, 10) for a in bench.ALGORITHMS}
    )
    assert bench.supplement_of(full, bench.BUDGETS) is None


def test_learned_names_follow_the_training_order(bench: ModuleType) -> None:
    ppo, reinforce = bench.Algorithm.PPO, bench.Algorithm.REINFORCE
    assert bench.learned_names((ppo, reinforce), {ppo: (1, 5), reinforce: ()}) == [
        "conditioned, ppo",
        "per-w 1x, ppo",
        "per-w 5x, ppo",
        "conditioned, reinforce",
    ]


def _m(family: str, algorithm: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"family": family, **extra}
    if algorithm is not None:
        out["algorithm"] = algorithm
    return out


def test_merge_orders_a_seed_as_one_plan_would(bench: ModuleType) -> None:
    main = {
        "conditioned, ppo": _m("conditioned", "ppo"),
        "per-w 1x, ppo": _m("per-w 1x", "ppo"),
        "per-w 5x, ppo": _m("per-w 5x", "ppo"),
        "scalarized greedy": _m("scalarized greedy"),
        "scalarized + MMR, lambda 0.25": _m("scalarized + MMR", "lambda 0.25"),
        "scalarized + DPP": _m("scalarized + DPP"),
    }
    supplement = {
        "per-w 10x, ppo": _m("per-w 10x", "ppo"),
        "conditioned, reinforce": _m("conditioned", "reinforce"),
        "per-w 1x, reinforce": _m("per-w 1x", "reinforce"),
        "per-w 10x, reinforce": _m("per-w 10x", "reinforce"),
        "per-w 5x, reinforce": _m("per-w 5x", "reinforce"),
    }
    merged = bench.merge_jobs(main, supplement)
    assert list(merged) == [
        "conditioned, ppo",
        "per-w 1x, ppo",
        "per-w 5x, ppo",
        "per-w 10x, ppo",
        "conditioned, reinforce",
        "per-w 1x, reinforce",
        "per-w 5x, reinforce",
        "per-w 10x, reinforce",
        "scalarized greedy",
        "scalarized + MMR, lambda 0.25",
        "scalarized + DPP",
    ]
    assert merged["per-w 10x, ppo"] is supplement["per-w 10x, ppo"]
    assert bench.merge_jobs(main, None) is main  # no supplement: the main job untouched
    assert bench.merge_jobs(main, {}) is main
    with pytest.raises(ValueError, match="per-w 5x, ppo"):
        bench.merge_jobs(main, {"per-w 5x, ppo": _m("per-w 5x", "ppo")})


def _job(seed_shift: float, supplement: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """One seed of 3 objectives with single-point fronts (hypervolume = the product of the
    point's distances to the reference, which the baseline at the origin puts at 0)."""

    def learned(family: str, algorithm: str, point: list[float]) -> dict[str, Any]:
        return {
            "family": family,
            "algorithm": algorithm,
            "lists_shown": 10.0,
            "updates": 1.0,
            "train_s": 1.0,
            "validation": [point],
            "test": [point],
        }

    main = {
        "conditioned, ppo": learned("conditioned", "ppo", [2.0 + seed_shift, 1.0, 1.0]),
        "per-w 1x, ppo": learned("per-w 1x", "ppo", [1.0, 1.0, 1.0]),
        "scalarized greedy": {
            "family": "scalarized greedy",
            "validation": [[0.0, 0.0, 0.0]],
            "test": [[0.0, 0.0, 0.0]],
        },
    }
    extra = {
        "per-w 10x, ppo": learned("per-w 10x", "ppo", [3.0, 1.0, 1.0]),
        "conditioned, reinforce": learned("conditioned", "reinforce", [1.0, 1.0, 0.5]),
        "per-w 10x, reinforce": learned("per-w 10x", "reinforce", [1.0, 2.0, 1.0 + seed_shift]),
    }
    return main, extra if supplement else {}


def test_summary_of_merged_jobs_chooses_and_compares_the_supplement(bench: ModuleType) -> None:
    seeds = [_job(0.0, True), _job(1.0, True)]
    summary = bench.summarize("3 objectives", [bench.merge_jobs(m, s) for m, s in seeds])
    methods = summary["methods"]
    assert methods["per-w 10x, reinforce"]["hypervolume"]["test"] == pytest.approx([2.0, 4.0])
    assert methods["conditioned, ppo"]["hypervolume"]["test"] == pytest.approx([2.0, 3.0])
    fam = summary["families"]
    assert list(fam) == ["conditioned", "per-w 1x", "per-w 10x", "scalarized greedy"]
    # per-w 10x: PPO (3.0) in seed 0, REINFORCE (4.0 > 3.0) in seed 1, chosen on validation
    assert fam["per-w 10x"]["chosen"] == ["per-w 10x, ppo", "per-w 10x, reinforce"]
    assert fam["conditioned"]["chosen"] == ["conditioned, ppo", "conditioned, ppo"]
    same = summary["conditioned_minus_same_algorithm"]
    assert list(same) == ["per-w 1x, ppo", "per-w 10x, ppo", "per-w 10x, reinforce"]
    # conditioned REINFORCE: 0.5 in both seeds; per-w 10x REINFORCE: 2 and 4
    assert same["per-w 10x, reinforce"]["mean"] == pytest.approx(0.5 - 3.0)
    assert same["per-w 10x, ppo"]["mean"] == pytest.approx(2.5 - 3.0)


def _sim(bench: ModuleType, supplement: bool) -> dict[str, Any]:
    """Both objective sets summarized from two seeds, with or without the supplement."""
    sets = {}
    for label in ("3 objectives", "4 objectives"):
        seeds = [_job(0.0, supplement), _job(1.0, supplement)]
        jobs = [bench.merge_jobs(m, s) for m, s in seeds]
        if label == "4 objectives":  # a 4th objective, the same in every point
            jobs = [
                {
                    n: {**m, **{s: [[*p, 1.0] for p in m[s]] for s in ("validation", "test")}}
                    for n, m in job.items()
                }
                for job in jobs
            ]
        sets[label] = bench.summarize(label, jobs)
    return {"n_seeds": 2, "steps": 4, "batch": 10, "sets": sets}


def test_run_lists_follow_what_is_present(bench: ModuleType) -> None:
    before = bench.ran_text(_sim(bench, False))
    assert before == (
        "Run: 3 objectives: PPO (conditioned, and per-w at 1x). 4 objectives: PPO "
        "(conditioned, and per-w at 1x). Not run (to fit the time; left for a later run, so "
        "nothing below speaks for them): per-w PPO at 5x and 10x on 3 objectives; REINFORCE "
        "on 3 objectives (no policy of either kind); per-w PPO at 5x and 10x on 4 objectives; "
        "REINFORCE on 4 objectives (no policy of either kind)."
    )
    after = bench.ran_text(_sim(bench, True))
    assert after == (
        "Run: 3 objectives: PPO (conditioned, and per-w at 1x and 10x); REINFORCE "
        "(conditioned, and per-w at 10x). 4 objectives: PPO (conditioned, and per-w at 1x and "
        "10x); REINFORCE (conditioned, and per-w at 10x). Not run (to fit the time; left for a "
        "later run, so nothing below speaks for them): per-w PPO at 5x on 3 objectives; per-w "
        "REINFORCE at 1x and 5x on 3 objectives; per-w PPO at 5x on 4 objectives; per-w "
        "REINFORCE at 1x and 5x on 4 objectives."
    )


def test_completion_text_estimates_from_the_seconds_per_list(bench: ModuleType) -> None:
    # B = 4 x 10 = 40 lists. PPO's runs: 2 s per 20 lists = 0.1 s a list. Missing PPO per
    # set: 5x and 10x = 15 B = 600 lists = 60 s; REINFORCE has no run anywhere: no estimate.
    text = bench.completion_text(_sim(bench, False))
    assert "`benchmarks/bench_policy.py --seeds 2 --complete`" in text
    assert "Its cost" not in text
    # with the supplement, every algorithm has a rate (each run 1 s per 10 lists):
    # per set, per-w PPO 5x, REINFORCE 1x and 5x = 11 B = 440 lists x 0.1 = 44 s
    text = bench.completion_text(_sim(bench, True))
    assert "about 88 s of training per seed, 176 s for the 2 seeds in one process" in text
    assert "its rate on the other set" not in text


def test_completion_text_borrows_a_rate_and_is_empty_when_complete(bench: ModuleType) -> None:
    sim = _sim(bench, True)
    four = sim["sets"]["4 objectives"]["methods"]
    for name in [n for n in four if n.endswith("reinforce")]:
        del four[name]
    sim["sets"]["3 objectives"]["methods"]["conditioned, reinforce"]["train_s"] = 3.0
    # REINFORCE on 3 objectives: (3 + 1) s / 20 lists = 0.2 s a list, borrowed by 4
    # objectives for conditioned, 1x, 5x, 10x = 17 B = 680 lists = 136 s; on 3: 1x and 5x
    # = 6 B = 240 lists x 0.2 = 48 s; per-w PPO 5x on each set 200 lists x 0.1 = 20 s each
    text = bench.completion_text(sim)
    assert "and for REINFORCE on 4 objectives its rate on the other set" in text
    assert "about 224 s of training per seed, 448 s for the 2 seeds" in text
    full = bench.learned_names(bench.ALGORITHMS, {a: bench.BUDGETS for a in bench.ALGORITHMS})
    for summary in sim["sets"].values():
        summary["methods"] = {n: {"family": "x"} for n in full}
    assert bench.completion_text(sim) == ""
