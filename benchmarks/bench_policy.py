"""The preference-conditioned policy against per-w policies and scalarized re-rankers.

1. Simulator (lively shop, 2,000 items, lists of 10 from 50 candidates; objectives:
   clicks and revenue per list, each over the uniformly random policy's mean, and the
   category diversity of the list). The predictions the policies and baselines read come
   from the multi-task ranker (`RankerPredictor`: a `paretorec.rank` MMoE trained on
   20,000 logged uniformly random sessions; no peeking at the truth); greedy lists by
   `LoggedFeedbackModel`'s predictions (logistic regressions on the same number of logged
   sessions) are measured beside it to compare the two predictors. Each method's front is traced by sweeping w over
   the simplex grid with step 1/3 (10 points) at serving time (greedy lists), and
   measured on the same 2,000 fresh sessions with the exact expected feedback:
   - the conditioned policy (Plackett-Luce; REINFORCE and PPO; and list-aware REINFORCE),
     w drawn per context, budget B lists shown (the training defaults: 4 lists per
     context with the leave-one-out baseline, each objective over its running std,
     w ~ Dirichlet(0.5), one w-weighted head per objective), and the conditioned PL
     policy trained as before issue #6 (one head, one list per context, raw rewards,
     uniform w) to show what the changes bought;
   - a separate Plackett-Luce policy per grid w, B / 10 sessions each (equal total
     budget) and 5 B / 10 each (5x);
   - greedy by the weighted sum of the standardized predictions (clicks, revenue), and
     MMR / DPP diversification on top of it (`paretorec.moo.mmr_rerank` / `dpp_rerank`,
     trade-off 1 - w_diversity, on leaf/brand one-hot embeddings).
   Hypervolume of each front (reference: the worst value of each objective over all
   methods' points in all seeds), training throughput, wall time to 95% of the final
   reward. Everything in this part is repeated for --seeds seeds (training seed and
   evaluation sessions; the world and the predictor stay fixed) and reported as the mean
   ± standard deviation over seeds with each seed's value; the generated reading compares
   means and counts the seeds that agree.
2. Open Bandit Dataset (random/ALL): an off-policy Plackett-Luce policy (top-K
   correction, K = 3) learned on the first half of the rounds, its CTR estimated on the
   second half with SNIPS and DR (95% bootstrap intervals), beside the random policy's
   own CTR there and Bernoulli TS's own CTR (bts/ALL).

    .venv/bin/python benchmarks/bench_policy.py [--quick] [--seeds N] [--per-w5-seeds M]

Writes benchmarks/results/policy.md, policy.json and policy_front.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

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
    ServedFront,
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
OBJECTIVES = (PolicyObjective.CLICKS, PolicyObjective.REVENUE, PolicyObjective.DIVERSITY)
BATCH = 256
SEED = 7
EVAL_SEED = 99
BEFORE = "conditioned PL, REINFORCE, as before #6"
GREEDY_LOGGED = "scalarized greedy (LoggedFeedbackModel predictions)"
PER_W = "per-w PL policies (1x budget)"


def scalarized_scores(inputs: PolicyInput, w: np.ndarray) -> np.ndarray:
    """w_clicks z(click) + w_revenue z(revenue), z-scored within each request."""
    out = np.zeros((inputs.n_requests, inputs.n_candidates))
    for weight, name in ((w[0], "click"), (w[1], "revenue")):
        p = inputs.predictions[name]
        out += weight * (p - p.mean(1, keepdims=True)) / (p.std(1, keepdims=True) + 1e-12)
    return out


def embeddings(obs: Observation) -> np.ndarray:
    f = obs.features
    eye = np.eye(64)
    return np.concatenate([eye[f.leaf % 64], 0.5 * eye[(f.brand + 1) % 64]], axis=2)


def greedy_fn(k: int) -> Any:
    def fn(obs: Observation, inputs: PolicyInput, w: np.ndarray) -> np.ndarray:
        s = scalarized_scores(inputs, w)
        return np.argsort(-s, axis=1, kind="stable")[:, :k]

    return fn


def rerank_fn(k: int, kind: str) -> Any:
    def fn(obs: Observation, inputs: PolicyInput, w: np.ndarray) -> np.ndarray:
        s = scalarized_scores(inputs, w)
        e = embeddings(obs)
        keep = float(np.clip(1.0 - w[2], 0.0, 1.0))
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
    smooth = np.convolve(r, np.ones(10) / 10, mode="valid")
    start, final = smooth[0], smooth[-1]
    target = start + 0.95 * (final - start)
    hit = int(np.argmax(smooth >= target)) + 9 if final > start else len(r) - 1
    return float(secs[hit]), hit + 1


def train(
    task: SimulatorTask, cfg: PolicyConfig, run: OnPolicyConfig
) -> tuple[PreferencePolicy, Any]:
    torch.manual_seed(run.seed)
    policy = PreferencePolicy(cfg)
    return policy, train_on_policy(policy, task, run)


def seed_values(s: int) -> tuple[int, int]:
    """Training seed and evaluation-session seed of seed index `s` (index 0 is the
    single-seed run's 7 and 99; the per-w policies use training seed + 1 + grid index)."""
    return SEED + 100 * s, EVAL_SEED + 1000 * s


def one_seed(
    task: SimulatorTask,
    logged_task: SimulatorTask,
    grid: np.ndarray,
    steps: int,
    n_eval: int,
    s: int,
    per_w_factors: tuple[int, ...],
) -> tuple[dict[str, ServedFront], dict[str, dict[str, Any]]]:
    """Every method trained with training seed index `s` and measured on that index's
    evaluation sessions (the world and the predictor stay fixed)."""
    train_seed, eval_seed = seed_values(s)
    k = task.spec.list_size
    fronts: dict[str, ServedFront] = {}
    info: dict[str, dict[str, Any]] = {}

    def measure(name: str, fn: Any, extra: dict[str, Any], on: SimulatorTask = task) -> None:
        start = time.perf_counter()
        fronts[name] = front_of(on, fn, grid, n_sessions=n_eval, seed=eval_seed)
        info[name] = {**extra, "measure_s": time.perf_counter() - start}
        print(f"seed {s} {name}: {extra}", flush=True)

    pl_cfg = policy_config(task, variant=PolicyVariant.PLACKETT_LUCE)
    before = {"lists_per_context": 1, "normalize_objectives": False, "weight_concentration": 1.0}
    for label, alg, variant, old in (
        (BEFORE, Algorithm.REINFORCE, PolicyVariant.PLACKETT_LUCE, True),
        ("conditioned PL, REINFORCE", Algorithm.REINFORCE, PolicyVariant.PLACKETT_LUCE, False),
        ("conditioned PL, PPO", Algorithm.PPO, PolicyVariant.PLACKETT_LUCE, False),
        ("conditioned list-aware, REINFORCE", Algorithm.REINFORCE, PolicyVariant.LIST_AWARE, False),
    ):
        cfg = policy_config(task, variant=variant)
        if old:
            cfg = dataclasses.replace(cfg, objective_heads=False)
        policy, res = train(
            task,
            cfg,
            OnPolicyConfig(
                algorithm=alg,
                steps=steps,
                batch_sessions=BATCH,
                seed=train_seed,
                checkpoint_every=0,
                **(before if old else {}),  # type: ignore[arg-type]
            ),
        )
        t95, s95 = time_to_95(res.history)
        measure(
            label,
            policy_rank_fn(policy, k),
            {
                "sessions": steps * BATCH,
                "train_s": res.seconds,
                "sessions_per_s": res.sessions_per_second,
                "time_to_95_s": t95,
                "steps_to_95": s95,
                "first_reward": float(np.mean([h["reward"] for h in res.history[:10]])),
                "final_reward": float(np.mean([h["reward"] for h in res.history[-10:]])),
            },
        )
    for factor in per_w_factors:
        per_w = max(1, factor * steps // len(grid))
        policies = []
        total_s = 0.0
        for i, w in enumerate(grid):
            policy, res = train(
                task,
                pl_cfg,
                OnPolicyConfig(
                    steps=per_w,
                    batch_sessions=BATCH,
                    seed=train_seed + 1 + i,
                    checkpoint_every=0,
                    fixed_weights=tuple(float(v) for v in w),
                ),
            )
            policies.append(policy)
            total_s += res.seconds

        def per_w_fn(
            obs: Observation,
            inputs: PolicyInput,
            w: np.ndarray,
            policies: list[PreferencePolicy] = policies,
        ) -> np.ndarray:
            i = int(np.argmin(np.abs(grid - w).sum(axis=1)))
            return policy_rank_fn(policies[i], k)(obs, inputs, w)

        measure(
            f"per-w PL policies ({factor}x budget)",
            per_w_fn,
            {
                "sessions": per_w * BATCH * len(grid),
                "train_s": total_s,
                "sessions_per_s": per_w * BATCH * len(grid) / total_s,
            },
        )
    measure("scalarized greedy (predictions)", greedy_fn(k), {})
    measure(GREEDY_LOGGED, greedy_fn(k), {}, on=logged_task)
    measure("scalarized + MMR", rerank_fn(k, "mmr"), {})
    measure("scalarized + DPP", rerank_fn(k, "dpp"), {})
    return fronts, info


def _mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof 1; nan for a single value)."""
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else float("nan")


def simulator_part(quick: bool, n_seeds: int, per_w5_seeds: int) -> dict[str, Any]:
    steps = 40 if quick else 120
    grid = simplex_grid(len(OBJECTIVES), 3)
    n_eval = 500 if quick else 2000
    t0 = time.perf_counter()
    task = make_task(
        SimulatorSpec(), OBJECTIVES, log_sessions=20_000, seed=SEED, predictor=PredictorKind.RANKER
    )
    setup_s = time.perf_counter() - t0
    logged = make_task(SimulatorSpec(), OBJECTIVES, log_sessions=20_000, seed=SEED)
    # the same world, sessions and reward scales; only the predictions differ
    logged_task = dataclasses.replace(task, predictor=logged.predictor)
    runs: list[tuple[dict[str, ServedFront], dict[str, dict[str, Any]]]] = []
    seed_s: list[float] = []
    for s in range(n_seeds):
        start = time.perf_counter()
        factors = (1, 5) if s < per_w5_seeds else (1,)
        runs.append(one_seed(task, logged_task, grid, steps, n_eval, s, factors))
        seed_s.append(time.perf_counter() - start)
        print(f"seed {s} done in {seed_s[-1]:.0f} s", flush=True)

    # one reference over every method's points in every seed, so that all hypervolumes
    # (across methods and across seeds) are measured against the same point
    all_points = np.concatenate([f.values for fronts, _ in runs for f in fronts.values()])
    reference = all_points.min(axis=0) - 1e-9
    dirs = ["maximize"] * len(OBJECTIVES)
    methods: dict[str, dict[str, Any]] = {}
    for name in runs[0][0]:
        seeds = [s for s, (fronts, _) in enumerate(runs) if name in fronts]
        per_seed = [
            {
                **runs[s][1][name],
                "seed": s,
                "train_seed": seed_values(s)[0],
                "eval_seed": seed_values(s)[1],
                "hypervolume": hypervolume(runs[s][0][name].values, reference, dirs).value,
                "front": runs[s][0][name].values.tolist(),
            }
            for s in seeds
        ]
        hv_mean, hv_sd = _mean_sd([r["hypervolume"] for r in per_seed])
        methods[name] = {
            "hypervolume": hv_mean,
            "hypervolume_sd": hv_sd,
            "hypervolume_per_seed": [r["hypervolume"] for r in per_seed],
            "seeds": seeds,
            "front": per_seed[0]["front"],
            "per_seed": per_seed,
        }
        for key in ("sessions", "sessions_per_s", "time_to_95_s", "train_s"):
            if key in per_seed[0]:
                methods[name][key] = float(np.mean([r[key] for r in per_seed]))
    plot({name: fronts for name, fronts in runs[0][0].items()}, RESULTS / "policy_front.png")
    return {
        "setup_s": setup_s,
        "seed_s": seed_s,
        "n_seeds": n_seeds,
        "per_w5_seeds": min(per_w5_seeds, n_seeds),
        "seed_values": [list(seed_values(s)) for s in range(n_seeds)],
        "steps": steps,
        "grid": grid.tolist(),
        "reference": reference.tolist(),
        "objectives": [o.value for o in OBJECTIVES],
        "scales": vars(task.scales),
        "predictor": type(task.predictor).__name__,
        "methods": methods,
        "eval_sessions": n_eval,
    }


def plot(fronts: dict[str, ServedFront], path: Path) -> None:
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    pairs = ((0, 1), (0, 2), (1, 2))
    names = [o.value for o in OBJECTIVES]
    markers = "osD^v<>px"
    for p, (a, b) in enumerate(pairs):
        ax = fig.add_subplot(1, 3, p + 1)
        for i, (name, f) in enumerate(fronts.items()):
            ax.scatter(
                f.values[:, a], f.values[:, b], s=18, marker=markers[i % len(markers)], label=name
            )
        ax.set_xlabel(f"{names[a]} ↑")
        ax.set_ylabel(f"{names[b]} ↑")
    fig.axes[0].legend(fontsize=6)
    fig.suptitle("served fronts (w swept over the simplex grid), exact expected values")
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


def write_markdown(sim: dict[str, Any], obd: dict[str, Any], wall: float) -> str:
    lines = [
        "## Policy: preference-conditioned RL vs per-w policies and scalarized re-ranking",
        "",
        f"`benchmarks/bench_policy.py`, {platform.machine()}, torch threads 1, wall {wall:.0f} s.",
        "",
        "### Simulator: fronts traced by sweeping w at serving time",
        "",
        f"Objectives {sim['objectives']} (clicks and revenue per list over the random policy's mean; "
        f"category diversity in [0, 1]); w on the simplex grid of step 1/3 ({len(sim['grid'])} points); "
        f"greedy lists measured with exact expected feedback on {sim['eval_sessions']} fresh sessions. "
        f"Predictions read by the policies and the scalarized baselines: {sim['predictor']}. "
        f"Budget B = {sim['steps']} steps x {BATCH} lists shown. Hypervolume reference = the worst value "
        f"per objective over all points of all methods in all seeds: "
        f"{[round(v, 4) for v in sim['reference']]}.",
        "",
        f"**{sim['n_seeds']} seeds.** The world (catalogue, users, logged sessions, predictor) is "
        f"fixed; seed i changes the training seed (initialisation and training sessions) and the "
        f"{sim['eval_sessions']} evaluation sessions: (training, evaluation) seeds "
        + ", ".join(f"({a}, {b})" for a, b in sim["seed_values"])
        + " (per-w policy j trains with training seed + 1 + j). Hypervolume: mean ± sample "
        "standard deviation over seeds, then each seed's value; the non-learned methods vary only "
        "with the evaluation sessions. sessions/s and time to 95% are means over seeds. "
        f"Wall per seed: {', '.join(f'{v:.0f}' for v in sim['seed_s'])} s."
        + (
            f" The 5x-budget per-w row was run for {sim['per_w5_seeds']} of the {sim['n_seeds']} "
            "seeds only, to fit the time budget."
            if sim["per_w5_seeds"] < sim["n_seeds"]
            else ""
        ),
        "",
        "| method | train sessions | hypervolume (mean ± sd) | per seed | sessions/s | time to 95% (s) |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for name, m in sim["methods"].items():
        per_seed = ", ".join(f"{v:.3f}" for v in m["hypervolume_per_seed"])
        lines.append(
            f"| {name} | {m.get('sessions', 0):,.0f} | {_hv(m)} | {per_seed} | "
            f"{m.get('sessions_per_s', float('nan')):.0f} | {m.get('time_to_95_s', float('nan')):.1f} |"
        )
    lines += [
        "",
        "Front points of seed 0 (clicks, revenue, diversity) per w, in grid order "
        "(every seed's are in policy.json; the figure shows seed 0):",
        "",
    ]
    for name, m in sim["methods"].items():
        pts = "; ".join(f"({a:.3f}, {b:.3f}, {c:.3f})" for a, b, c in m["front"])
        lines.append(f"- {name}: {pts}")
    lines += [
        "",
        "![fronts](policy_front.png)",
        "",
        "### Open Bandit Dataset (random/ALL): learned off-policy, judged off-policy",
        "",
        f"Trained on the first {obd['train_rounds']:,} rounds ({obd['train_clicks']} clicks), judged on the other "
        f"{obd['eval_rounds']:,} ({obd['eval_clicks']} clicks). CTR per impression, 95% bootstrap intervals.",
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


def _spread(front: list[list[float]], i: int) -> str:
    values = [p[i] for p in front]
    return f"{min(values):.3f}-{max(values):.3f}"


def _hv(m: dict[str, Any]) -> str:
    if len(m["hypervolume_per_seed"]) < 2:
        return f"{m['hypervolume']:.3f} (1 seed)"
    return f"{m['hypervolume']:.3f} ± {m['hypervolume_sd']:.3f}"


def _above(m: dict[str, Any], a: str, b: str) -> tuple[int, int]:
    """In how many of the seeds both were run in a's hypervolume is above b's."""
    hv_a = dict(zip(m[a]["seeds"], m[a]["hypervolume_per_seed"], strict=True))
    hv_b = dict(zip(m[b]["seeds"], m[b]["hypervolume_per_seed"], strict=True))
    common = sorted(set(hv_a) & set(hv_b))
    return sum(hv_a[s] > hv_b[s] for s in common), len(common)


def _compare(m: dict[str, Any], a: str, b: str, label: str) -> str:
    """'above|below <label> (means; above in k of n seeds)' from the means and the paired
    seeds."""
    k, n = _above(m, a, b)
    if m[a]["hypervolume"] > m[b]["hypervolume"]:
        word = f"above {label}" if k == n else f"above {label} on average"
    else:
        word = f"below {label}" if k == 0 else f"below {label} on average"
    return f"{word} ({_hv(m[a])} against {_hv(m[b])}; above in {k} of {n} seeds)"


def reading(sim: dict[str, Any], obd: dict[str, Any]) -> list[str]:
    """The findings, worded from the measured numbers (nothing here is hand-written
    about a particular run): means over seeds, with how many seeds agree."""
    m = sim["methods"]
    hv = {name: v["hypervolume"] for name, v in m.items()}
    conditioned = [n for n in m if n.startswith("conditioned") and n != BEFORE]
    best = max(conditioned, key=lambda n: hv[n])
    ranked, logged = m["scalarized greedy (predictions)"]["front"], m[GREEDY_LOGGED]["front"]
    per_w5 = "per-w PL policies (5x budget)"
    k, n = _above(m, best, PER_W)
    if hv[best] >= hv[PER_W]:
        verdict = "beats" if k == n else "beats on average, not in every seed,"
    else:
        verdict = "does not match"
    seeds5 = "" if len(m[per_w5]["seeds"]) == sim["n_seeds"] else " run on fewer seeds"
    out = [
        f"- At equal budget ({m[best]['sessions']:,.0f} lists shown) the best w-conditioned policy "
        f"by mean hypervolume over {sim['n_seeds']} seeds, {best}, {verdict} ten per-w PL "
        f"policies: {_hv(m[best])} against {_hv(m[PER_W])}, above in {k} of {n} seeds. Against "
        f"per-w at 5x the budget{seeds5} it is {_compare(m, best, per_w5, 'it')}. All conditioned "
        "policies: "
        + ", ".join(f"{c.removeprefix('conditioned ')} {_hv(m[c])}" for c in conditioned)
        + ".",
        f"- The same PL policy trained as before issue #6 (one head, one list per context, raw "
        f"rewards, uniform w) reaches {_hv(m[BEFORE])}; with today's training PL REINFORCE is "
        f"{_compare(m, 'conditioned PL, REINFORCE', BEFORE, 'it')}.",
        "- How much each front follows w in seed 0 (range over the grid of clicks; of diversity): "
        + "; ".join(
            f"{c} {_spread(m[c]['front'], 0)}; {_spread(m[c]['front'], 2)}"
            for c in (BEFORE, best, PER_W, "scalarized + MMR")
        )
        + ".",
        f"- Non-learned: scalarized greedy {_hv(m['scalarized greedy (predictions)'])}, "
        f"+ MMR {_hv(m['scalarized + MMR'])}, + DPP {_hv(m['scalarized + DPP'])}; the best "
        f"conditioned policy is {_compare(m, best, 'scalarized + MMR', 'MMR')}; of the conditioned "
        "policies, "
        + ", ".join(
            f"{c.removeprefix('conditioned ')} is above MMR in {_above(m, c, 'scalarized + MMR')[0]} "
            f"of {_above(m, c, 'scalarized + MMR')[1]}"
            for c in conditioned
        )
        + ".",
        f"- Predictor: {sim['predictor']}; greedy lists by its predictions reach hypervolume "
        f"{_hv(m['scalarized greedy (predictions)'])}, by LoggedFeedbackModel's "
        f"{_hv(m[GREEDY_LOGGED])}; in seed 0, clicks at w = (1, 0, 0): {ranked[0][0]:.3f} against "
        f"{logged[0][0]:.3f}, revenue at w = (0, 1, 0): {ranked[3][1]:.3f} against "
        f"{logged[3][1]:.3f}, diversity at w = (1, 0, 0): {ranked[0][2]:.3f} against "
        f"{logged[0][2]:.3f} (hypervolume rewards diverse lists; "
        + (
            "the ranker predicts clicks worse"
            if ranked[0][0] < logged[0][0]
            else "the ranker predicts clicks at least as well"
        )
        + ").",
    ]
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
    parser.add_argument(
        "--seeds", type=int, default=3, help="seeds of the simulator section (default 3)"
    )
    parser.add_argument(
        "--per-w5-seeds",
        type=int,
        default=None,
        help="run the 5x-budget per-w policies on only the first this many seeds "
        "(default: all), to save time",
    )
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    per_w5 = args.seeds if args.per_w5_seeds is None else max(1, args.per_w5_seeds)
    torch.set_num_threads(1)
    start = time.perf_counter()
    RESULTS.mkdir(exist_ok=True)
    obd = obd_part(args.quick)
    print("obd done", flush=True)
    sim = simulator_part(args.quick, args.seeds, per_w5)
    wall = time.perf_counter() - start
    (RESULTS / "policy.json").write_text(
        json.dumps({"simulator": sim, "obd": obd, "wall_s": wall}, indent=1, default=float)
    )
    (RESULTS / "policy.md").write_text(write_markdown(sim, obd, wall))
    print((RESULTS / "policy.md").read_text())


if __name__ == "__main__":
    main()
