"""The preference-conditioned policy against per-w policies and scalarized re-rankers,
on equal footing.

1. Simulator (lively shop, 2,000 items, lists of 10 from 50 candidates). Two objective
   sets: 3 objectives (clicks and revenue per list, each over the uniformly random
   policy's mean, and the category diversity of the list) and 4 (the same and the sellers'
   exposure fairness of the list). The predictions every policy and baseline reads come
   from the multi-task ranker (`RankerPredictor`: a `paretorec.rank` MMoE trained on
   20,000 logged uniformly random sessions; no peeking at the truth).
   Each method's front is traced by sweeping w over the simplex grid of step 1/3 (10
   points for 3 objectives, 20 for 4) at serving time (greedy lists), with the exact
   expected feedback, on two disjoint sets of fresh sessions: VALIDATION sessions choose
   every variant (the algorithm of each family, MMR's trade-off scale) and TEST sessions
   report it.
   - one conditioned Plackett-Luce policy, w drawn per context (the training defaults),
     budget B = steps x 256 lists shown;
   - a separate Plackett-Luce policy per grid w, trained with the SAME algorithm and
     defaults, B / g lists each (1x: the same lists shown and the same optimizer updates
     in total as the conditioned policy), and 5x and 10x that;
   - each family with PPO and with REINFORCE (REINFORCE's per-w budgets 1x and 5x; on 4
     objectives PPO only, at 1x and 5x, to fit the time), the family's algorithm chosen
     on validation; --complete adds the rest (per-w REINFORCE at 10x on 3 objectives,
     per-w PPO at 10x and REINFORCE, conditioned and per-w at 1x/5x/10x, on 4), see below;
   - greedy by the weighted sum of the standardized predictions, and MMR / DPP on top of
     it (leaf and brand one-hot embeddings, no collisions; MMR's trade-off
     1 - lambda w_diversity with lambda chosen on validation).
   Hypervolume of each front (reference: per objective set and split, the worst value of
   each objective over every method's points in every seed). Compute: lists shown,
   optimizer updates, training seconds. --seeds seeds (training seed, validation and test
   sessions; the world and the predictor stay fixed): mean +- sd, and the paired
   difference over seeds with a 95% t interval.
2. Open Bandit Dataset (random/ALL): an off-policy Plackett-Luce policy (top-K
   correction, K = 3) learned on the first half of the rounds, its CTR estimated on the
   second half with SNIPS and DR (95% bootstrap intervals), beside the random policy's
   own CTR there and Bernoulli TS's own CTR (bts/ALL).

    .venv/bin/python benchmarks/bench_policy.py [--quick] [--seeds N] [--workers W]
    .venv/bin/python benchmarks/bench_policy.py --render   # policy.md from policy.json
    .venv/bin/python benchmarks/bench_policy.py --seeds 5 --complete

--complete trains only what the default plans leave out, keeping every finished job: one
supplementary job per (objective set, seed), e.g.
`4objectives-seed0-steps120-eval2000-supplement-conditioned_reinforce-ppo10-reinforce1_5_10.json`
beside `4objectives-seed0-steps120-eval2000-ppo-ppo1_5-reinforce1_5.json`, which is read,
not recomputed (the finished jobs' names, and so the default command, are unchanged). Each
policy trains from its own seed, so a supplement holds what its main job would have held
had it included those methods; the summary merges a seed's two jobs before choosing,
comparing and writing the verdict, and the header's "Run: / Not run:" lists follow. Cost,
an estimate from the stored training seconds of the 5-seed run (shared, loaded machine):
about 1,500 s of training per seed (per-w PPO 10x on 4 objectives about 600 s, from its 5x
runs' 281 s mean, 440 s in the slowest seeds; REINFORCE on 4 objectives about 550 s, from
its rate on 3 objectives; per-w REINFORCE 10x on 3 objectives about 320 s), about 2 h for
5 seeds in one process, plus tracing the new fronts; policy.md prints the estimate from
policy.json.

Writes benchmarks/results/policy.md, policy.json and policy_front.png (--render rewrites
policy.md alone from the stored policy.json, running nothing).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from scipy import stats

from paretorec.data.datasets import BuiltinDataset, load_builtin
from paretorec.moo import hypervolume
from paretorec.moo.diversify import dpp_rerank, mmr_rerank
from paretorec.policy import (
    Algorithm,
    OffPolicyConfig,
    OnPolicyConfig,
    PolicyConfig,
    PolicyInput,
    PolicyObjective,
    PolicyVariant,
    PredictorKind,
    PreferencePolicy,
    SimulatorSpec,
    SimulatorTask,
    action_distribution,
    estimate_ctr,
    front_of,
    make_task,
    policy_config,
    policy_rank_fn,
    read_logged_data,
    rounds,
    smoothed_click_rates,
    split_in_time,
    train_off_policy,
    train_on_policy,
)
from paretorec.preference import simplex_grid
from paretorec.simulate import Observation

RESULTS = Path(__file__).resolve().parent / "results"
JOBS = Path(__file__).resolve().parent / ".work" / "policy"  # finished jobs, for resuming
OBJECTIVE_SETS: dict[str, tuple[PolicyObjective, ...]] = {
    "3 objectives": (PolicyObjective.CLICKS, PolicyObjective.REVENUE, PolicyObjective.DIVERSITY),
    "4 objectives": (
        PolicyObjective.CLICKS,
        PolicyObjective.REVENUE,
        PolicyObjective.DIVERSITY,
        PolicyObjective.EXPOSURE_FAIRNESS,
    ),
}
BATCH = 256
SEED = 7
MMR_SCALES = (0.25, 0.5, 1.0)
CONDITIONED = "conditioned"
SPLITS = ("validation", "test")


@dataclass(frozen=True)
class Plan:
    """What one (objective set, seed) job trains."""

    objectives: str
    seed: int
    steps: int
    n_eval: int
    algorithms: tuple[Algorithm, ...]
    factors: dict[Algorithm, tuple[int, ...]]
    # a supplement (--complete): only these learned methods, no baselines; () = everything
    methods: tuple[str, ...] = ()


def learned_names(
    algorithms: tuple[Algorithm, ...], factors: Mapping[Algorithm, tuple[int, ...]]
) -> list[str]:
    """The learned methods a plan trains, in the order run_job measures them."""
    return [
        name
        for a in algorithms
        for name in (
            f"{CONDITIONED}, {a.value}",
            *(f"per-w {f}x, {a.value}" for f in factors[a]),
        )
    ]


def supplement_of(plan: Plan, budgets: tuple[int, ...]) -> Plan | None:
    """The plan of the learned methods (both algorithms, conditioned and per-w at
    `budgets`) that `plan` does not train, for the same objective set and seed: a job of
    its own, so the finished job of `plan` is kept as it is. None when nothing is missing.
    Every policy is trained from its own seed, so a supplement's methods are the ones
    `plan` would have trained had it included them."""
    if plan.methods:
        raise ValueError("a supplement is of a main plan, not of another supplement")
    full = {a: budgets for a in ALGORITHMS}
    have = set(learned_names(plan.algorithms, plan.factors))
    missing = tuple(n for n in learned_names(ALGORITHMS, full) if n not in have)
    if not missing:
        return None
    return Plan(plan.objectives, plan.seed, plan.steps, plan.n_eval, ALGORITHMS, full, missing)


def merge_jobs(main: dict[str, Any], supplement: dict[str, Any] | None) -> dict[str, Any]:
    """One seed's methods: its main job's and its supplement's, the learned methods
    ordered by algorithm (conditioned, then per-w by budget) and the baselines after them,
    as one plan with every method would have measured them. The main job as it is when
    there is no supplement."""
    if not supplement:
        return main
    both = set(main) & set(supplement)
    if both:
        raise ValueError(f"a supplement re-measures its main job's methods: {sorted(both)}")
    merged = {**main, **supplement}

    def learned(m: dict[str, Any]) -> bool:
        family: str = m["family"]
        return family == CONDITIONED or family.startswith("per-w")

    def order(name: str) -> tuple[int, int]:
        m = merged[name]
        algorithm = [a.value for a in ALGORITHMS].index(m["algorithm"])
        budget = 0 if m["family"] == CONDITIONED else int(m["family"].split()[1].rstrip("x"))
        return algorithm, budget

    first = sorted((n for n, m in merged.items() if learned(m)), key=order)
    return {name: merged[name] for name in first + [n for n in main if not learned(main[n])]}


def updates_per_step(run: OnPolicyConfig) -> int:
    """Optimizer updates of the policy in one training step."""
    if run.algorithm is Algorithm.PPO:
        return run.ppo_epochs * run.ppo_minibatches
    return 1


def scalarized_scores(inputs: PolicyInput, w: np.ndarray) -> np.ndarray:
    """w_clicks z(click) + w_revenue z(revenue), z-scored within each request."""
    out = np.zeros((inputs.n_requests, inputs.n_candidates))
    for weight, name in ((w[0], "click"), (w[1], "revenue")):
        p = inputs.predictions[name]
        out += weight * (p - p.mean(1, keepdims=True)) / (p.std(1, keepdims=True) + 1e-12)
    return out


def embeddings(obs: Observation, n_leaves: int, n_brands: int) -> np.ndarray:
    """One-hot leaf and (half-weight) brand of each candidate: one column per leaf and per
    brand (plus unbranded), so no two leaves share a direction."""
    f = obs.features
    leaf = np.eye(n_leaves)[f.leaf]
    brand = 0.5 * np.eye(n_brands + 1)[f.brand + 1]
    return np.concatenate([leaf, brand], axis=2)


def greedy_fn(k: int) -> Any:
    def fn(obs: Observation, inputs: PolicyInput, w: np.ndarray) -> np.ndarray:
        s = scalarized_scores(inputs, w)
        return np.argsort(-s, axis=1, kind="stable")[:, :k]

    return fn


def rerank_fn(task: SimulatorTask, kind: str, scale: float = 1.0) -> Any:
    k = task.spec.list_size
    n_leaves = task.world.taxonomy.n_leaves
    n_brands = int(task.world.items.brand.max()) + 1

    def fn(obs: Observation, inputs: PolicyInput, w: np.ndarray) -> np.ndarray:
        s = scalarized_scores(inputs, w)
        e = embeddings(obs, n_leaves, n_brands)
        keep = float(np.clip(1.0 - scale * w[2], 0.0, 1.0))
        rows = []
        for i in range(s.shape[0]):
            if kind == "mmr":
                rows.append(mmr_rerank(s[i], e[i], k, trade_off=keep))
            else:
                rows.append(dpp_rerank(s[i], e[i], k, theta=min(keep, 0.999)))
        return np.stack(rows)

    return fn


def time_to_95(history: list[dict[str, float]]) -> tuple[float, int]:
    """Seconds and steps until the reward (moving mean of 10 steps) first covers 95% of
    its rise from the first 10 steps' mean to the last 10 steps' mean."""
    r = np.array([h["reward"] for h in history])
    secs = np.cumsum([h["seconds"] for h in history])
    window = min(10, len(r))
    smooth = np.convolve(r, np.ones(window) / window, mode="valid")
    start, final = smooth[0], smooth[-1]
    target = start + 0.95 * (final - start)
    hit = int(np.argmax(smooth >= target)) + window - 1 if final > start else len(r) - 1
    return float(secs[hit]), hit + 1


def seed_values(s: int) -> tuple[int, int, int]:
    """Training, validation-session and test-session seeds of seed index `s`."""
    return SEED + 100 * s, 50_000 + 1000 * s, 90_000 + 1000 * s


@cache
def task_of(objectives: str) -> SimulatorTask:
    """One world and predictor per objective set and process (seeded: the same in every
    process)."""
    return make_task(
        SimulatorSpec(),
        OBJECTIVE_SETS[objectives],
        log_sessions=20_000,
        seed=SEED,
        predictor=PredictorKind.RANKER,
    )


def job_path(plan: Plan) -> Path:
    head = f"{plan.objectives.replace(' ', '')}-seed{plan.seed}-steps{plan.steps}-eval{plan.n_eval}"
    if plan.methods:  # e.g. ...-supplement-conditioned_reinforce-ppo10-reinforce1_5_10.json
        parts = [
            f"{CONDITIONED}_{a.value}"
            for a in plan.algorithms
            if f"{CONDITIONED}, {a.value}" in plan.methods
        ]
        for a in plan.algorithms:
            budgets = [f for f in plan.factors[a] if f"per-w {f}x, {a.value}" in plan.methods]
            if budgets:
                parts.append(f"{a.value}{'_'.join(map(str, budgets))}")
        return JOBS / f"{head}-supplement-{'-'.join(parts)}.json"
    factors = "-".join(f"{a.value}{'_'.join(map(str, f))}" for a, f in plan.factors.items())
    algorithms = "_".join(a.value for a in plan.algorithms)
    return JOBS / f"{head}-{algorithms}-{factors}.json"


def run_job(plan: Plan) -> dict[str, Any]:
    """Every method of one objective set and seed, measured on that seed's validation and
    test sessions: {name: {"family", "algorithm", "validation", "test", compute...}}.
    A finished job is kept in benchmarks/.work/policy, so a killed run resumes."""
    path = job_path(plan)
    while running_elsewhere(path):  # another run is on this job: wait for its result
        time.sleep(30)
    if path.is_file():
        done: dict[str, Any] = json.loads(path.read_text())
        return done
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".running").write_text(str(os.getpid()))
    torch.set_num_threads(1)
    task = task_of(plan.objectives)
    train_seed, val_seed, test_seed = seed_values(plan.seed)
    k = task.spec.list_size
    grid = simplex_grid(len(task.objectives), 3)
    cfg = policy_config(task, variant=PolicyVariant.PLACKETT_LUCE)
    out: dict[str, Any] = {}

    def measure(name: str, fn: Any, extra: dict[str, Any]) -> None:
        fronts = {
            split: front_of(task, fn, grid, n_sessions=plan.n_eval, seed=seed).values.tolist()
            for split, seed in zip(SPLITS, (val_seed, test_seed), strict=True)
        }
        out[name] = {**extra, **fronts}
        print(f"[{plan.objectives}, seed {plan.seed}] {name}: {extra}", flush=True)

    def train(run: OnPolicyConfig) -> tuple[PreferencePolicy, Any]:
        torch.manual_seed(run.seed)
        policy = PreferencePolicy(cfg)
        return policy, train_on_policy(policy, task, run)

    def wanted(name: str) -> bool:
        return not plan.methods or name in plan.methods

    for algorithm in plan.algorithms:
        run = OnPolicyConfig(
            algorithm=algorithm,
            steps=plan.steps,
            batch_sessions=BATCH,
            seed=train_seed,
            checkpoint_every=0,
        )
        if wanted(f"{CONDITIONED}, {algorithm.value}"):
            policy, res = train(run)
            t95, s95 = time_to_95(res.history)
            measure(
                f"{CONDITIONED}, {algorithm.value}",
                policy_rank_fn(policy, k),
                {
                    "family": CONDITIONED,
                    "algorithm": algorithm.value,
                    "lists_shown": plan.steps * BATCH,
                    "updates": plan.steps * updates_per_step(run),
                    "train_s": res.seconds,
                    "time_to_95_s": t95,
                    "steps_to_95": s95,
                },
            )
        for factor in plan.factors[algorithm]:
            if not wanted(f"per-w {factor}x, {algorithm.value}"):
                continue
            per_w_steps = max(1, factor * plan.steps // len(grid))
            policies, seconds, updates = [], 0.0, 0
            for i, w in enumerate(grid):
                run_w = OnPolicyConfig(
                    algorithm=algorithm,
                    steps=per_w_steps,
                    batch_sessions=BATCH,
                    seed=train_seed + 1 + i,
                    checkpoint_every=0,
                    fixed_weights=tuple(float(v) for v in w),
                )
                policy_w, res_w = train(run_w)
                policies.append(policy_w)
                seconds += res_w.seconds
                updates += per_w_steps * updates_per_step(run_w)

            def per_w_fn(
                obs: Observation,
                inputs: PolicyInput,
                w: np.ndarray,
                policies: list[PreferencePolicy] = policies,
            ) -> np.ndarray:
                i = int(np.argmin(np.abs(grid - w).sum(axis=1)))
                return policy_rank_fn(policies[i], k)(obs, inputs, w)

            measure(
                f"per-w {factor}x, {algorithm.value}",
                per_w_fn,
                {
                    "family": f"per-w {factor}x",
                    "algorithm": algorithm.value,
                    "lists_shown": per_w_steps * BATCH * len(grid),
                    "updates": updates,
                    "train_s": seconds,
                },
            )
    if not plan.methods:  # a supplement leaves the baselines to its main job
        measure("scalarized greedy", greedy_fn(k), {"family": "scalarized greedy"})
        for scale in MMR_SCALES:
            measure(
                f"scalarized + MMR, lambda {scale}",
                rerank_fn(task, "mmr", scale),
                {"family": "scalarized + MMR", "algorithm": f"lambda {scale}"},
            )
        measure("scalarized + DPP", rerank_fn(task, "dpp"), {"family": "scalarized + DPP"})
    path.with_suffix(".tmp").write_text(json.dumps(out))
    path.with_suffix(".tmp").replace(path)
    path.with_suffix(".running").unlink(missing_ok=True)
    return out


def running_elsewhere(path: Path) -> bool:
    """Whether a live process other than this one is computing the job of `path`."""
    marker = path.with_suffix(".running")
    try:
        pid = int(marker.read_text())
    except (OSError, ValueError):
        return False
    if pid == os.getpid() or path.is_file():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def reference_point(jobs: list[dict[str, Any]], split: str) -> np.ndarray:
    points = np.concatenate([np.asarray(m[split]) for job in jobs for m in job.values()])
    reference: np.ndarray = points.min(axis=0) - 1e-9
    return reference


def paired(a: list[float], b: list[float]) -> dict[str, float]:
    """Mean of a - b over seeds with its 95% t interval (nan for one seed)."""
    d = np.asarray(a) - np.asarray(b)
    mean = float(d.mean())
    if d.size < 2:
        return {"mean": mean, "lower": float("nan"), "upper": float("nan"), "above": int(mean > 0)}
    half = float(stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size))
    return {"mean": mean, "lower": mean - half, "upper": mean + half, "above": int((d > 0).sum())}


def summarize(objectives: str, jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """Hypervolumes per method and split, each family's variant chosen per seed on
    validation, and the conditioned policy's paired differences with the per-w ones."""
    names = tuple(o.value for o in OBJECTIVE_SETS[objectives])
    dirs = ["maximize"] * len(names)
    refs = {split: reference_point(jobs, split) for split in SPLITS}
    methods: dict[str, dict[str, Any]] = {}
    for name, first in jobs[0].items():
        hv = {
            split: [
                hypervolume(np.asarray(job[name][split]), refs[split], dirs).value for job in jobs
            ]
            for split in SPLITS
        }
        entry = {key: value for key, value in first.items() if key not in SPLITS}
        for key in ("lists_shown", "updates", "train_s", "time_to_95_s"):
            if key in first:
                entry[key] = float(np.mean([job[name][key] for job in jobs]))
        methods[name] = {**entry, "hypervolume": hv, "front_seed0": first["test"]}
    families: dict[str, dict[str, Any]] = {}
    for family in dict.fromkeys(m["family"] for m in methods.values()):
        members = [n for n, m in methods.items() if m["family"] == family]
        chosen = [
            max(members, key=lambda n: methods[n]["hypervolume"]["validation"][s])
            for s in range(len(jobs))
        ]
        test = [methods[c]["hypervolume"]["test"][s] for s, c in enumerate(chosen)]
        families[family] = {
            "chosen": chosen,
            "test": test,
            "validation": [
                methods[c]["hypervolume"]["validation"][s] for s, c in enumerate(chosen)
            ],
            "lists_shown": float(np.mean([methods[c].get("lists_shown", 0) for c in chosen])),
            "updates": float(np.mean([methods[c].get("updates", 0) for c in chosen])),
            "train_s": float(np.mean([methods[c].get("train_s", 0.0) for c in chosen])),
        }
    comparisons = {}
    for family in families:
        if family != CONDITIONED:
            comparisons[family] = paired(families[CONDITIONED]["test"], families[family]["test"])
    same_algorithm: dict[str, dict[str, float]] = {}
    for name, m in methods.items():
        if m["family"].startswith("per-w"):
            mine = f"{CONDITIONED}, {m['algorithm']}"
            same_algorithm[name] = paired(
                methods[mine]["hypervolume"]["test"], m["hypervolume"]["test"]
            )
    return {
        "objectives": list(names),
        "reference": {split: refs[split].tolist() for split in SPLITS},
        "methods": methods,
        "families": families,
        "conditioned_minus": comparisons,
        "conditioned_minus_same_algorithm": same_algorithm,
    }


def simulator_part(
    quick: bool, n_seeds: int, workers: int, report_only: bool = False, complete: bool = False
) -> dict[str, Any]:
    steps = 30 if quick else 120
    n_eval = 300 if quick else 2000
    plans = []
    for s in range(n_seeds):  # seed by seed, so a cut-short run has both sets' first seeds
        for objectives in OBJECTIVE_SETS:
            three = objectives == "3 objectives"
            algorithms = (Algorithm.PPO, Algorithm.REINFORCE) if three else (Algorithm.PPO,)
            # per-w budgets: the 10x PPO row only on 3 objectives, to fit the time
            ppo: tuple[int, ...] = (1, 5, 10) if three else (1, 5)
            factors = {Algorithm.PPO: ppo, Algorithm.REINFORCE: (1, 5)}
            if quick:
                factors = {Algorithm.PPO: (1, 5), Algorithm.REINFORCE: (1,)}
            plans.append(Plan(objectives, s, steps, n_eval, algorithms, factors))
    if complete:  # the missing methods, each (set, seed) in a supplementary job of its own
        budgets = (1, 5) if quick else BUDGETS
        plans += [sup for p in list(plans) if (sup := supplement_of(p, budgets)) is not None]
    if report_only:  # summarize the finished jobs only (the seeds whose both sets finished)
        done = {p.seed for p in plans if job_path(p).is_file()}
        finished = [
            s for s in range(n_seeds) if all(job_path(p).is_file() for p in plans if p.seed == s)
        ]
        plans = [p for p in plans if p.seed in finished]
        if not plans:
            raise SystemExit(f"no seed has finished both objective sets (finished jobs: {done})")
    seeds = sorted({p.seed for p in plans})
    # jobs another process is computing go last, to be read from its result
    plans.sort(key=lambda plan: running_elsewhere(job_path(plan)))
    start = time.perf_counter()
    if workers > 1:
        # spawn, not fork: a child forked after torch started its thread pool hangs
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(run_job, plans))
    else:
        results = [run_job(plan) for plan in plans]
    wall = time.perf_counter() - start
    mains = {
        (p.objectives, p.seed): r for p, r in zip(plans, results, strict=True) if not p.methods
    }
    supplements = {
        (p.objectives, p.seed): r for p, r in zip(plans, results, strict=True) if p.methods
    }
    sets = {
        objectives: summarize(
            objectives,
            [merge_jobs(mains[objectives, s], supplements.get((objectives, s))) for s in seeds],
        )
        for objectives in OBJECTIVE_SETS
    }
    plot(sets["3 objectives"], RESULTS / "policy_front.png")
    return {
        "n_seeds": len(seeds),
        "seed_values": [list(seed_values(s)) for s in seeds],
        "steps": steps,
        "batch": BATCH,
        "eval_sessions": n_eval,
        "workers": workers,
        "wall_s": wall,
        "predictor": "RankerPredictor",
        **({"complete": True} if complete else {}),
        "sets": sets,
    }


def plot(summary: dict[str, Any], path: Path) -> None:
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    pairs = ((0, 1), (0, 2), (1, 2))
    names = summary["objectives"]
    markers = "osD^v<>px"
    shown = {n: m for n, m in summary["methods"].items() if "lambda 0.5" not in n}
    for p, (a, b) in enumerate(pairs):
        ax = fig.add_subplot(1, 3, p + 1)
        for i, (name, m) in enumerate(shown.items()):
            f = np.asarray(m["front_seed0"])
            ax.scatter(f[:, a], f[:, b], s=14, marker=markers[i % len(markers)], label=name)
        ax.set_xlabel(f"{names[a]} ↑")
        ax.set_ylabel(f"{names[b]} ↑")
    fig.axes[0].legend(fontsize=5)
    fig.suptitle("served fronts on the test sessions, seed 0 (w swept over the simplex grid)")
    fig.savefig(path, dpi=120)


def obd_part(quick: bool) -> dict[str, Any]:
    start = time.perf_counter()
    data = read_logged_data(load_builtin(BuiltinDataset.OBD_RANDOM_ALL))
    fit, held = split_in_time(data.n_rounds)
    rates = smoothed_click_rates(data, fit)
    train_rounds, eval_rounds = rounds(data, fit, rates), rounds(data, held, rates)
    cfg = PolicyConfig(
        objectives=("clicks",),
        prediction_names=("click",),
        context_dim=data.context.shape[1],
        item_dim=train_rounds.inputs.item_features.shape[2],
        links=(("clicks", "click"),),
        hidden=32,
    )
    torch.manual_seed(SEED)
    policy = PreferencePolicy(cfg)
    res = train_off_policy(
        policy, train_rounds, OffPolicyConfig(epochs=5 if quick else 20, seed=SEED)
    )
    out: dict[str, Any] = {
        "train_rounds": int(fit.size),
        "eval_rounds": int(held.size),
        "train_clicks": int(data.feedback.reward[fit].sum()),
        "eval_clicks": int(data.feedback.reward[held].sum()),
        "train_s": res.seconds,
    }
    for label, greedy in (("PL policy (sampled lists)", False), ("PL policy (greedy lists)", True)):
        est = estimate_ctr(
            data,
            held,
            action_distribution(policy, eval_rounds, 3, greedy=greedy),
            n_bootstrap=300 if quick else 1000,
            seed=SEED,
        )
        out[label] = {"snips": vars(est.snips), "dr": vars(est.dr)}
    out["random own CTR (eval half)"] = float(data.feedback.reward[held].mean())
    bts = read_logged_data(load_builtin(BuiltinDataset.OBD_BTS_ALL))
    out["bernoulli TS own CTR (bts/all)"] = float(bts.feedback.reward.mean())
    out["seconds"] = time.perf_counter() - start
    return out


def _ms(values: list[float]) -> str:
    a = np.asarray(values, dtype=float)
    if a.size < 2:
        return f"{a.mean():.3f} (1 seed)"
    return f"{a.mean():.3f} ± {a.std(ddof=1):.3f}"


def _diff(d: dict[str, float], n: int) -> str:
    significant = d["lower"] > 0 or d["upper"] < 0
    return (
        f"{d['mean']:+.3f} [{d['lower']:+.3f}, {d['upper']:+.3f}] | {d['above']} of {n} | "
        f"{'yes' if significant else 'no'}"
    )


def write_markdown(sim: dict[str, Any], obd: dict[str, Any], wall: float) -> str:
    n = sim["n_seeds"]
    lines = [
        "## Policy: preference-conditioned RL vs per-w policies and scalarized re-ranking",
        "",
        f"`benchmarks/bench_policy.py --seeds {n}{' --complete' * bool(sim.get('complete'))}`, "
        f"{platform.machine()}, torch threads 1 per "
        f"process, {sim['workers']} processes, wall {wall:.0f} s (a run resumes from the jobs "
        "an earlier run of the same command finished, kept in benchmarks/.work/policy; each job "
        "is seeded, so a resumed job is the job). Training seconds were measured on a shared, "
        "loaded machine: compare lists shown and optimizer updates, not seconds.",
        "",
        "### Simulator: fronts traced by sweeping w at serving time, on equal footing",
        "",
        f"Budget B = {sim['steps']} steps x {sim['batch']} lists shown for the conditioned policy. "
        "Per-w policies use the same algorithm and defaults, one per grid point, "
        "B / g lists each at 1x (the same lists shown and optimizer updates in total), and "
        "5x or 10x that where run. " + ran_text(sim) + completion_text(sim) + " "
        "PPO makes 12 optimizer updates a step (3 epochs x 4 minibatches), REINFORCE 1. "
        f"Each front: greedy lists for every grid w, exact expected objectives, mean over "
        f"{sim['eval_sessions']} fresh sessions; validation and test sessions are disjoint "
        "(seeds " + ", ".join(f"{v}/{t}" for _, v, t in sim["seed_values"]) + "). "
        "Each family's variant (its algorithm; MMR's lambda) is chosen per seed on validation "
        "hypervolume and reported on test. Hypervolume reference: per objective set and split, "
        "the worst value of each objective over every point of every method and seed. "
        f"{n} seeds: mean ± sd; differences are paired over seeds with a 95% t interval.",
        "",
        tuning_text(sim),
        "",
        verdict(sim),
        "",
    ]
    for label, summary in sim["sets"].items():
        fam = summary["families"]
        lines += [
            f"#### {label}: {', '.join(summary['objectives'])}",
            "",
            "Every method (test hypervolume):",
            "",
            "| method | lists shown | optimizer updates | train s | validation HV | test HV |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, m in summary["methods"].items():
            lines.append(
                f"| {name} | {m.get('lists_shown', 0):,.0f} | {m.get('updates', 0):,.0f} | "
                f"{m.get('train_s', 0.0):.0f} | {_ms(m['hypervolume']['validation'])} | "
                f"{_ms(m['hypervolume']['test'])} |"
            )
        lines += [
            "",
            "Each family with its variant chosen on validation, and the conditioned policy's "
            "test hypervolume minus the family's (paired over seeds). The chosen algorithm can "
            "differ between families and seeds, so this table is not the same-algorithm "
            "comparison (that is the next table, and the verdict above); lists shown and "
            "updates are the chosen runs' means:",
            "",
            "| family | chosen (per seed) | lists shown | updates | train s | test HV | "
            "conditioned − family [95%] | conditioned above in | significant at 95% |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for family, f in fam.items():
            chosen = (
                ", ".join(c.split(", ")[-1] for c in f["chosen"])
                if f["chosen"][0] != family
                else "—"
            )
            diff = (
                "— | — | —"
                if family == CONDITIONED
                else _diff(summary["conditioned_minus"][family], n)
            )
            lines.append(
                f"| {family} | {chosen} | {f['lists_shown']:,.0f} | {f['updates']:,.0f} | "
                f"{f['train_s']:.0f} | {_ms(f['test'])} | {diff} |"
            )
        lines += [
            "",
            "Same algorithm on both sides (conditioned − per-w, test HV, paired over seeds):",
            "",
            "| per-w policies | conditioned − per-w [95%] | conditioned above in | significant |",
            "|---|---:|---:|---|",
        ]
        for name, d in summary["conditioned_minus_same_algorithm"].items():
            lines.append(f"| {name} | {_diff(d, n)} |")
        lines += [""]
    lines += [
        "Front points on the test sessions of seed 0 are in policy.json (`front_seed0`); the "
        "figure shows the 3-objective set.",
        "",
        "![fronts](policy_front.png)",
        "",
        "### Open Bandit Dataset (random/ALL): learned off-policy, judged off-policy",
        "",
        f"Trained on the first {obd['train_rounds']:,} rounds ({obd['train_clicks']} clicks), "
        f"judged on the other {obd['eval_rounds']:,} ({obd['eval_clicks']} clicks). CTR per "
        "impression, 95% bootstrap intervals.",
        "",
        "| policy | SNIPS | DR |",
        "|---|---|---|",
    ]
    for label in ("PL policy (sampled lists)", "PL policy (greedy lists)"):
        s, d = obd[label]["snips"], obd[label]["dr"]
        lines.append(
            f"| {label} | {s['mean']:.5f} [{s['lower']:.5f}, {s['upper']:.5f}] | "
            f"{d['mean']:.5f} [{d['lower']:.5f}, {d['upper']:.5f}] |"
        )
    lines.append(
        f"| uniform random (its own logs, eval half) | {obd['random own CTR (eval half)']:.5f} | |"
    )
    lines.append(
        f"| Bernoulli TS (its own logs, bts/ALL) | {obd['bernoulli TS own CTR (bts/all)']:.5f} | |"
    )
    lines += ["", "### Reading (generated by the script from this run's numbers)", ""]
    lines += reading(sim, obd)
    return "\n".join(lines) + "\n"


ALGORITHMS = (Algorithm.PPO, Algorithm.REINFORCE)
BUDGETS = (1, 5, 10)  # the per-w budgets the issue asks for, in multiples of the conditioned's


def runs_of(summary: dict[str, Any]) -> dict[str, list[int]]:
    """{algorithm: nominal per-w budgets} that an objective set's run trained, read from
    its methods (an algorithm with a conditioned policy and no per-w run maps to [])."""
    ran: dict[str, list[int]] = {}
    for m in summary["methods"].values():
        if m["family"] == CONDITIONED:
            ran.setdefault(m["algorithm"], [])
    for m in summary["methods"].values():
        if m["family"].startswith("per-w"):
            ran.setdefault(m["algorithm"], []).append(int(m["family"].split()[1].rstrip("x")))
    return ran


def _budgets(factors: list[int]) -> str:
    return " and ".join(", ".join(f"{f}x" for f in factors).rsplit(", ", 1))


def ran_text(sim: dict[str, Any]) -> str:
    """Which algorithms and per-w budgets were run for each objective set, and which of
    the issue's (PPO and REINFORCE at 1x, 5x, 10x) were not."""
    ran_parts, missing = [], []
    for label, summary in sim["sets"].items():
        ran = runs_of(summary)
        ran_parts.append(
            f"{label}: "
            + "; ".join(
                f"{a.upper()} (conditioned, and per-w at {_budgets(f)})" for a, f in ran.items()
            )
        )
        for algorithm in ALGORITHMS:
            if algorithm.value not in ran:
                missing.append(f"{algorithm.value.upper()} on {label} (no policy of either kind)")
                continue
            absent = [f for f in BUDGETS if f not in ran[algorithm.value]]
            if absent:
                missing.append(f"per-w {algorithm.value.upper()} at {_budgets(absent)} on {label}")
    text = "Run: " + ". ".join(ran_parts) + "."
    if missing:
        text += (
            " Not run (to fit the time; left for a later run, so nothing below speaks for "
            "them): " + "; ".join(missing) + "."
        )
    return text


def _rate(methods: list[dict[str, Any]], algorithm: str) -> float | None:
    """Training seconds per list shown of `algorithm`'s learned runs among `methods`."""
    runs = [m for m in methods if m.get("algorithm") == algorithm and "train_s" in m]
    lists = sum(m["lists_shown"] for m in runs)
    return sum(m["train_s"] for m in runs) / lists if lists else None


def completion_text(sim: dict[str, Any]) -> str:
    """How to train the learned methods this run lacks (both algorithms, conditioned and
    per-w at every budget) without recomputing its finished jobs, and an estimate of the
    training seconds, from this run's seconds per list shown ("" when nothing lacks)."""
    full = {a: BUDGETS for a in ALGORITHMS}
    lists, n = sim["steps"] * sim["batch"], sim["n_seeds"]
    per_seed, borrowed, unknown = 0.0, [], False
    for label, summary in sim["sets"].items():
        for name in learned_names(ALGORITHMS, full):
            if name in summary["methods"]:
                continue
            algorithm = name.split(", ")[-1]
            rate = _rate(list(summary["methods"].values()), algorithm)
            if rate is None:  # no run of it on this set: its rate on the other sets
                others = [
                    m
                    for o, other in sim["sets"].items()
                    if o != label
                    for m in other["methods"].values()
                ]
                rate = _rate(others, algorithm)
                if f"{algorithm.upper()} on {label}" not in borrowed:
                    borrowed.append(f"{algorithm.upper()} on {label}")
            if rate is None:
                unknown = True
                continue
            family = name.split(", ")[0]  # "conditioned" or "per-w 10x"
            budget = 1 if family == CONDITIONED else int(family.split()[1].rstrip("x"))
            per_seed += rate * budget * lists
    if per_seed == 0.0 and not unknown:
        return ""
    text = (
        " To train only these later, keeping every finished job: `benchmarks/bench_policy.py "
        f"--seeds {n} --complete` (one supplementary job per objective set and seed beside the "
        "finished ones; each seed's methods are merged before anything is chosen or compared, "
        "so the lists above and the verdict then cover them). The hypervolume reference "
        "is the worst value over every method and seed, so the added methods move it: every "
        "hypervolume and difference above is recomputed then, not only the new rows."
    )
    if unknown:
        return text
    note = f", and for {', '.join(borrowed)} its rate on the other set" if borrowed else ""
    return text + (
        f" Its cost, estimated from this run's training seconds per list shown of the same "
        f"algorithm on the same objective set{note}: about {per_seed:,.0f} s of training per "
        f"seed, {n * per_seed:,.0f} s for the {n} seed{'s' * (n != 1)} in one process, about "
        "half that with the default 2 workers on free cores (an estimate: the seconds were measured on a "
        "loaded machine and varied between seeds; tracing the new fronts comes on top)."
    )


def tuning_text(sim: dict[str, Any]) -> str:
    """The tuning effort behind each side's settings, from bench_tune's policy stage."""
    path = RESULTS / "tune_policy.json"
    head = (
        "Tuning effort: both sides train with the same settings, the defaults of "
        "`OnPolicyConfig` and the policy network. "
    )
    if not path.is_file():
        return head + (
            "No record of tuning them was found (benchmarks/results/tune_policy.json); the "
            "per-w policies had no tuning of their own."
        )
    t = json.loads(path.read_text())
    conf = t["configurations"]
    default, best = conf["default"], conf["best valid HV"]
    states = ", ".join(f"{n} {s}" for s, n in t["states"].items())
    limit = f" within its {t['timeout_s']:.0f} s limit" if t.get("timeout_s") else ""
    outcome = (
        "no trial beat the default on validation hypervolume: the defaults were kept"
        if best["trial"] == default["trial"]
        else f"trial {best['trial']} scored above the default on validation hypervolume"
    )
    return head + (
        "Those defaults are what `benchmarks/bench_tune.py --stage policy` searched for the "
        f"conditioned PPO policy (tune_policy.md): {t['trials']} Optuna trials of the "
        f"{t.get('requested_trials', t['trials'])} requested{limit} ({states}), each "
        f"{t['steps']} PPO steps in the default shop of `train policy --simulator` on "
        f"{', '.join(o.removesuffix('@w') for o in t['objectives'] if o.endswith('@w'))} "
        "(with its logged-feedback predictor, not the "
        f"ranker predictor used here, and {t['steps']} steps, not {sim['steps']}); {outcome}. "
        "The per-w policies reuse these defaults with no tuning of their own, and neither "
        "REINFORCE nor the 4-objective set was searched: both sides train with the "
        "defaults, and the only search behind them was for the conditioned PPO policy."
    )


def _budget(methods: dict[str, Any], name: str) -> str:
    """The per-w run's optimizer updates over its conditioned counterpart's, e.g. "5"."""
    m = methods[name]
    ratio = m["updates"] / max(methods[f"{CONDITIONED}, {m['algorithm']}"]["updates"], 1.0)
    return f"{ratio:.1f}".removesuffix(".0")


def _share(part: float, whole: float) -> str:
    """part / whole as "1/5" when whole is a whole multiple of part, else "0.24"."""
    times = whole / part
    return f"1/{times:.0f}" if abs(times - round(times)) < 1e-9 else f"{part / whole:.2f}"


def _shares(cond: dict[str, Any], per_w: dict[str, Any]) -> str:
    """The conditioned run's updates and lists shown as shares of the per-w run's: one
    share when both are the same."""
    updates = _share(cond["updates"], per_w["updates"])
    lists = _share(cond["lists_shown"], per_w["lists_shown"])
    return updates if updates == lists else f"{updates} and {lists}"


def _outcome(d: dict[str, float]) -> str:
    if math.isnan(d["lower"]):  # one seed: no interval to test against
        return "has no interval (one seed)"
    if d["lower"] > 0:
        return "wins"
    if d["upper"] < 0:
        return "loses"
    return "ties"  # the interval includes 0


def verdict(sim: dict[str, Any]) -> str:
    """One paragraph: per objective set, algorithm and per-w budget, whether the
    conditioned policy wins, ties or loses against per-w policies of the same algorithm,
    and at what share of their compute."""
    n = sim["n_seeds"]
    sentences: list[str] = []
    tally: dict[str, list[str]] = {
        "wins": [],
        "ties": [],
        "loses": [],
        "has no interval (one seed)": [],
    }
    for label, summary in sim["sets"].items():
        methods = summary["methods"]
        by_algorithm: dict[str, list[str]] = {}
        for name, d in summary["conditioned_minus_same_algorithm"].items():
            m = methods[name]
            cond = methods[f"{CONDITIONED}, {m['algorithm']}"]
            budget, outcome = _budget(methods, name), _outcome(d)
            share = (
                f"the same compute, {cond['updates']:,.0f} updates and "
                f"{cond['lists_shown']:,.0f} lists shown on each side"
                if m["updates"] == cond["updates"] and m["lists_shown"] == cond["lists_shown"]
                else f"its {cond['updates']:,.0f} updates and {cond['lists_shown']:,.0f} lists "
                f"shown are {_shares(cond, m)} of the per-w policies' {m['updates']:,.0f} and "
                f"{m['lists_shown']:,.0f}"
            )
            by_algorithm.setdefault(m["algorithm"], []).append(
                f"{outcome} at {budget}x ({d['mean']:+.3f} [{d['lower']:+.3f}, "
                f"{d['upper']:+.3f}]; {share})"
            )
            tally[outcome].append(f"{label} {m['algorithm'].upper()} at {budget}x")
        for algorithm, parts in by_algorithm.items():
            sentences.append(
                f"On {label} with {algorithm.upper()}, the conditioned policy "
                + ", ".join(parts)
                + "."
            )
    counts = "; ".join(
        f"{outcome} in {len(cases)} ({', '.join(cases)})"
        for outcome, cases in tally.items()
        if cases
    )
    total = sum(len(cases) for cases in tally.values())
    return (
        "**Verdict** (generated from policy.json; the same algorithm and defaults on both "
        "sides, tuning as above; test hypervolume, conditioned − per-w paired over "
        f"{n} seeds with a 95% t interval; wins / loses: the interval excludes 0, ties: it "
        "includes 0). "
        + " ".join(sentences)
        + f" Of these {total} same-algorithm comparisons the conditioned policy {counts}."
    )


def _verdict(d: dict[str, float]) -> str:
    if d["lower"] > 0:
        return "beats"
    if d["upper"] < 0:
        return "loses to"
    return "is not distinguishable from" if d["mean"] >= 0 else "is below, not significantly,"


def reading(sim: dict[str, Any], obd: dict[str, Any]) -> list[str]:
    """The findings, worded from the measured numbers (nothing here is hand-written
    about a particular run)."""
    out = []
    for label, summary in sim["sets"].items():
        fam = summary["families"]
        cond = fam[CONDITIONED]
        parts = []
        for family, d in summary["conditioned_minus"].items():
            if not family.startswith("per-w"):
                continue
            ratio = fam[family]["updates"] / max(cond["updates"], 1.0)
            lists = fam[family]["lists_shown"] / max(cond["lists_shown"], 1.0)
            algorithms = ", ".join(c.split(", ")[-1] for c in fam[family]["chosen"])
            parts.append(
                f"{_verdict(d)} the {family} family (chosen per seed: {algorithms}; "
                f"{ratio:.1f}x the conditioned policy's optimizer updates, {lists:.1f}x its "
                f"lists shown; difference {d['mean']:+.3f} [{d['lower']:+.3f}, {d['upper']:+.3f}])"
            )
        others = [
            f"{_verdict(summary['conditioned_minus'][f])} {f} ({_ms(fam[f]['test'])})"
            for f in summary["conditioned_minus"]
            if not f.startswith("per-w")
        ]
        out.append(
            f"- {label}, each family with its own algorithm chosen on validation (not the same "
            "algorithm on both sides: the equal-footing comparison is the verdict above and "
            "the next line): the conditioned policy (chosen: "
            f"{', '.join(sorted(set(c.split(', ')[-1] for c in cond['chosen'])))}; test HV "
            f"{_ms(cond['test'])}) "
            + "; ".join(parts)
            + ". Against the non-learned baselines it "
            + "; ".join(others)
            + "."
        )
        same = summary["conditioned_minus_same_algorithm"]
        methods = summary["methods"]
        out.append(
            f"- {label}, the same algorithm on both sides: "
            + "; ".join(
                f"conditioned {name.split(', ')[-1]} {_verdict(d)} {name} "
                f"({d['mean']:+.3f} [{d['lower']:+.3f}, {d['upper']:+.3f}]; "
                f"{_budget(methods, name)}x the conditioned policy's updates)"
                for name, d in same.items()
            )
            + "."
        )
    s, d = obd["PL policy (sampled lists)"]["snips"], obd["PL policy (sampled lists)"]["dr"]
    rnd, bts = obd["random own CTR (eval half)"], obd["bernoulli TS own CTR (bts/all)"]
    contains = [
        name
        for name, ctr in (("the random policy's", rnd), ("Bernoulli TS's", bts))
        if s["lower"] <= ctr <= s["upper"] and d["lower"] <= ctr <= d["upper"]
    ]
    out.append(
        f"- Off-policy on OBD ({obd['train_clicks']} training clicks): the sampled PL policy's "
        f"CTR, SNIPS {s['mean']:.4f} [{s['lower']:.4f}, {s['upper']:.4f}], DR {d['mean']:.4f} "
        f"[{d['lower']:.4f}, {d['upper']:.4f}]; "
        + (
            f"both intervals contain {' and '.join(contains)} own CTR ({rnd:.4f}, {bts:.4f}): "
            "no measurable difference."
            if contains
            else f"the intervals exclude the random policy's {rnd:.4f} and Bernoulli TS's {bts:.4f}."
        )
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a small run to check the script")
    parser.add_argument("--seeds", type=int, default=5, help="seeds of the simulator section")
    parser.add_argument("--workers", type=int, default=2, help="processes for the seeds")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="write the report from the finished jobs in benchmarks/.work/policy (the seeds "
        "where both objective sets finished) without training more",
    )
    parser.add_argument(
        "--complete",
        action="store_true",
        help="also train the learned methods the default plans leave out (both algorithms, "
        "conditioned and per-w at 1x, 5x, 10x on both objective sets), each (objective set, "
        "seed) in a supplementary job beside its finished one, which is kept and reused",
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="rewrite policy.md from the stored policy.json, training and measuring nothing",
    )
    args = parser.parse_args()
    if args.seeds < 1 or args.workers < 1:
        parser.error("--seeds and --workers must be at least 1")
    if args.render:
        stored = json.loads((RESULTS / "policy.json").read_text())
        (RESULTS / "policy.md").write_text(
            write_markdown(stored["simulator"], stored["obd"], stored["wall_s"])
        )
        print((RESULTS / "policy.md").read_text())
        return
    torch.set_num_threads(1)
    start = time.perf_counter()
    RESULTS.mkdir(exist_ok=True)
    obd = obd_part(args.quick)
    print("obd done", flush=True)
    sim = simulator_part(args.quick, args.seeds, args.workers, args.report_only, args.complete)
    wall = time.perf_counter() - start
    (RESULTS / "policy.json").write_text(
        json.dumps({"simulator": sim, "obd": obd, "wall_s": wall}, indent=1, default=float)
    )
    (RESULTS / "policy.md").write_text(write_markdown(sim, obd, wall))
    print((RESULTS / "policy.md").read_text())


if __name__ == "__main__":
    main()
