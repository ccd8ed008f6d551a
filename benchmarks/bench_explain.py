"""Are the policy's explanations faithful? The per-objective parts of each listed item's
score, before and after issue #19's split of the learned remainder by objective.

Two shops, each with the policy the product serves there, trained as the product trains
it (PPO, `train_in_simulator`, `DemoModelSize`'s budget):
- the demo shop (simulated catalog, objectives clicks, revenue, diversity: `make demo`);
- Home Depot's own catalog in a simulated shop (`world_from_catalog`, objectives clicks,
  purchases, revenue: the policy `benchmarks/bench_serve.py` serves).

For fresh sessions and every weight vector of the simplex grid of step 1/4 with all
weights positive, the greedy top 10 and two explanations of it:
- OLD: each objective's linked terms w_k alpha z only; the learned remainder reported as
  "interaction" (what the service showed before);
- NEW: the linked terms plus the objective's own head part w_k r_k (what it shows now).

Measured:
1. Named share: sum |parts of named objectives| / sum |all parts| over listed items.
   NEW is 1 by construction for a policy with one head per objective.
2. Deletion test (does the explanation predict what the objective does?): for each
   objective k, drop it (w_k = 0, the other weights renormalized) and re-rank all
   candidates; the explanation predicts that the listed items with the largest part for k
   fall the most. Spearman correlation, per request, between each listed item's part for
   k and its fall in rank; mean over requests and objectives, with a 95% paired bootstrap
   interval of NEW - OLD over requests.

Seeds (issue #21): seed s trains the policy (and its shop's logs and predictor) with seed
s and draws the fresh sessions with EVAL_SEED + s; the shops' worlds stay the same. Each
seed's figures as before, then mean +- sd across seeds and NEW - OLD's 95% Student t
interval over the seeds (the interval that counts training-seed variance; the bootstrap
intervals are within one seed). Each seed's result is kept in
benchmarks/.work/explain/ (one shop at a time), so a seed already run is re-read, not
rerun; a changed VERSION reruns it. Seeds can run as separate processes (`--seeds 1`),
or one shop of a seed (`--seeds 2 --shop home`), then `--seeds 0 1 2` re-reads them all
and writes the report.

    .venv/bin/python benchmarks/bench_explain.py [--quick] [--seeds 0 1 2]
    .venv/bin/python benchmarks/bench_explain.py --render   # explain.md from explain.json

Writes benchmarks/results/explain.md and explain.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from paretorec.demo_models import DemoModelSize
from paretorec.policy import Algorithm, PreferencePolicy, SimulatorSpec, SimulatorTask
from paretorec.policy.recipe import train_in_simulator
from paretorec.preference import simplex_grid
from significance import SIG, yes_no
from spread import t_interval_verdict

RESULTS = Path(__file__).resolve().parent / "results"
WORK = Path(__file__).resolve().parent / ".work" / "explain"
K = 10
DEMO_WORLD_SEED = 0
EVAL_SEED = 4242
# Bump when the measurement or the training recipe here changes: cached seeds rerun.
VERSION = 2


def shops(quick: bool) -> dict[str, tuple[SimulatorSpec, list[str], Any]]:
    """name -> (spec, objectives, world or None)."""
    size = DemoModelSize()
    out: dict[str, tuple[SimulatorSpec, list[str], Any]] = {
        "demo shop": (
            SimulatorSpec(
                n_items=size.policy_items, n_users=size.policy_users, world_seed=DEMO_WORLD_SEED
            ),
            ["clicks", "revenue", "diversity"],
            None,
        )
    }
    if not quick:
        from paretorec.data.datasets import BuiltinDataset, load_builtin
        from paretorec.simulate import WorldConfig, world_from_catalog

        catalog = load_builtin(BuiltinDataset.HOMEDEPOT).items
        world = world_from_catalog(catalog, 1_000, config=WorldConfig.lively(), seed=1)
        out["Home Depot (simulated shop over its catalog)"] = (
            SimulatorSpec(n_items=len(catalog), n_users=1_000, world_seed=1),
            ["clicks", "purchases", "revenue"],
            world,
        )
    return out


def parts_of_all(
    policy: PreferencePolicy, task: SimulatorTask, obs: Any, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every candidate's score (n, c), its OLD parts (n, c, m + 1: linked terms by
    objective, then the remainder) and NEW parts (n, c, m: linked + head part)."""
    cfg = policy.config
    batch = policy.batch(task.inputs(obs), w)
    with torch.no_grad():
        linked = policy.linked(batch).double().numpy()
        heads = policy.remainder_parts(batch, policy.encode(batch)).double().numpy()
    n, c, _ = linked.shape
    m = cfg.n_objectives
    by_objective = np.zeros((n, c, m))
    for i, (objective, _) in enumerate(cfg.links):
        by_objective[:, :, cfg.objectives.index(objective)] += linked[:, :, i]
    old = np.concatenate([by_objective, heads.sum(axis=2, keepdims=True)], axis=2)
    new = by_objective + heads
    return new.sum(axis=2), old, new


def ranks(scores: np.ndarray) -> np.ndarray:
    """Rank of every candidate (0 = first) in the greedy order of `scores` (n, c)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    out = np.empty_like(order)
    np.put_along_axis(out, order, np.arange(scores.shape[1])[None, :], axis=1)
    return out


def measure(
    policy: PreferencePolicy, task: SimulatorTask, n_sessions: int, eval_seed: int
) -> dict[str, Any]:
    m = policy.config.n_objectives
    grid = np.array([w for w in simplex_grid(m, 4) if (w > 0).all()])
    env = task.env(n_sessions, seed=eval_seed)
    obs = env.reset(seed=eval_seed)
    named_old, named_new = [], []
    rho_old: list[float] = []
    rho_new: list[float] = []
    for w in grid:
        scores, old, new = parts_of_all(policy, task, obs, w)
        listed = np.argsort(-scores, axis=1, kind="stable")[:, :K]
        take = np.take_along_axis
        old_l = take(old, listed[:, :, None], axis=1)
        new_l = take(new, listed[:, :, None], axis=1)
        named_old.append(np.abs(old_l[:, :, :m]).sum() / np.abs(old_l).sum())
        named_new.append(np.abs(new_l).sum() / np.abs(new_l).sum())
        before = take(ranks(scores), listed, axis=1)
        for k in range(m):
            dropped = w.copy()
            dropped[k] = 0.0
            dropped /= dropped.sum()
            after_scores = parts_of_all(policy, task, obs, dropped)[0]
            fall = take(ranks(after_scores), listed, axis=1) - before
            for r in range(fall.shape[0]):
                if np.ptp(fall[r]) == 0:
                    continue  # nothing moved: no order to predict
                for parts, sink in ((old_l, rho_old), (new_l, rho_new)):
                    # an explanation that gives every item the same part (the old one's
                    # 0 for an objective without a linked prediction) predicts nothing: 0
                    same = np.ptp(parts[r, :, k]) == 0
                    rho = 0.0 if same else stats.spearmanr(parts[r, :, k], fall[r]).statistic
                    sink.append(0.0 if np.isnan(rho) else float(rho))
    a, b = np.asarray(rho_old), np.asarray(rho_new)
    rng = np.random.default_rng(0)
    boot = [float((b[i] - a[i]).mean()) for i in rng.integers(0, a.size, (1000, a.size))]
    return {
        "weights": grid.tolist(),
        "named_share_old": float(np.mean(named_old)),
        "named_share_new": float(np.mean(named_new)),
        "deletion_spearman_old": float(a.mean()),
        "deletion_spearman_new": float(b.mean()),
        "difference": float((b - a).mean()),
        "difference_ci": [float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))],
        "cases": int(a.size),
    }


def seed_path(seed: int, quick: bool) -> Path:
    return WORK / f"{'quick-' if quick else ''}seed{seed}.json"


def load_seed(seed: int, quick: bool) -> dict[str, Any]:
    """The kept result of `seed` (shops done so far), or an empty one if absent or
    written by another VERSION."""
    path = seed_path(seed, quick)
    if path.exists():
        kept: dict[str, Any] = json.loads(path.read_text())
        if kept.get("version") == VERSION:
            return kept
    return {"version": VERSION, "seed": seed, "eval_seed": EVAL_SEED + seed, "shops": {}}


def run_seed(seed: int, quick: bool, only: str | None = None) -> dict[str, Any]:
    """Train and measure every shop (whose name contains `only`, if given) not yet kept
    for `seed`; saved after each shop."""
    kept = load_seed(seed, quick)
    size = DemoModelSize()
    for name, (spec, objectives, world) in shops(quick).items():
        if only is not None and only.lower() not in name.lower():
            continue
        if name in kept["shops"]:
            print(f"seed {seed}, {name}: re-read from {seed_path(seed, quick)}", flush=True)
            continue
        t0 = time.perf_counter()
        run = train_in_simulator(
            spec,
            objectives,
            algorithm=Algorithm.PPO,
            sessions=size.policy_sessions // (4 if quick else 1),
            log_sessions=size.policy_log_sessions,
            seed=seed,
            world=world,
        )
        train_s = time.perf_counter() - t0
        measured = measure(run.policy, run.task, 100 if quick else 500, EVAL_SEED + seed)
        kept["shops"][name] = {
            "objectives": objectives,
            "train_s": train_s,
            "wall_s": time.perf_counter() - t0,
            "commit": commit(),
            **measured,
        }
        print(f"seed {seed}, {name}:", kept["shops"][name], flush=True)
        # another process may have kept another shop of this seed meanwhile: merge
        kept["shops"] = {**load_seed(seed, quick)["shops"], **kept["shops"]}
        WORK.mkdir(parents=True, exist_ok=True)
        seed_path(seed, quick).write_text(json.dumps(kept, indent=1))
    return kept


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        return out.stdout.strip()
    except OSError:
        return ""


def summary(per_seed: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Per shop: mean and sd (n - 1) across seeds, and in how many seeds NEW - OLD's
    interval lies above 0 and below 0."""
    out: dict[str, Any] = {}
    names = next(iter(per_seed.values()))["shops"].keys()
    for name in names:
        runs = [r["shops"][name] for r in per_seed.values()]
        row: dict[str, Any] = {"objectives": runs[0]["objectives"], "seeds": len(runs)}
        for key in (
            "named_share_old",
            "named_share_new",
            "deletion_spearman_old",
            "deletion_spearman_new",
            "difference",
        ):
            values = np.array([r[key] for r in runs])
            row[key] = {
                "mean": float(values.mean()),
                "sd": float(values.std(ddof=1)) if len(values) > 1 else float("nan"),
            }
        row["ci_above_0"] = sum(r["difference_ci"][0] > 0 for r in runs)
        row["ci_below_0"] = sum(r["difference_ci"][1] < 0 for r in runs)
        out[name] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="demo shop only, fewer sessions")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--shop", help="run only the shops whose name contains this (e.g. demo, home); no report"
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="rewrite explain.md from explain.json, running nothing (with --quick if it was a "
        "quick run)",
    )
    args = parser.parse_args()
    if args.render:
        saved = json.loads((RESULTS / "explain.json").read_text())
        kept = {int(s): r for s, r in saved["seeds"].items()}
        (RESULTS / "explain.md").write_text(markdown(kept, saved["summary"], args))
        print((RESULTS / "explain.md").read_text())
        return
    torch.set_num_threads(1)
    per_seed = {seed: run_seed(seed, args.quick, args.shop) for seed in args.seeds}
    if args.shop is not None:
        return  # a part of a seed: `--seeds ...` without --shop writes the report
    means = summary(per_seed)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "explain.json").write_text(
        json.dumps({"seeds": {str(s): r for s, r in per_seed.items()}, "summary": means}, indent=1)
    )
    (RESULTS / "explain.md").write_text(markdown(per_seed, means, args))
    print((RESULTS / "explain.md").read_text())


def shown(name: str) -> str:
    """A shop's name as the tables print it: every shop here is simulated, and says so."""
    return name if "simulated" in name else f"{name} (simulated)"


def over_seeds(differences: list[float]) -> tuple[str, bool]:
    """NEW - OLD's mean over the seeds with its 95% t interval (3 decimals), and whether
    the interval excludes 0 (from its unrounded bounds)."""
    return t_interval_verdict(differences, digits=3)


def markdown(
    per_seed: dict[int, dict[str, Any]], means: dict[str, Any], args: argparse.Namespace
) -> str:
    seeds = sorted(per_seed)
    walls = [sum(r["wall_s"] for r in per_seed[s]["shops"].values()) for s in seeds]
    command = "benchmarks/bench_explain.py" + (" --quick" if args.quick else "")
    command += " --seeds " + " ".join(map(str, seeds))
    lines = [
        "## Explanations: are the per-objective parts faithful? (simulated shops)",
        "",
        f"`{command}`, {platform.machine()}, torch threads 1, {len(seeds)} seed(s) "
        f"({', '.join(map(str, seeds))}), wall per seed "
        f"{', '.join(f'{w:.0f}' for w in walls)} s (run under nice on a loaded machine: "
        "walls are not timings). "
        "Each shop's policy trained as the product trains it (PPO in the simulated shop); "
        f"greedy top {K} on fresh sessions for every weight vector of the simplex grid of step "
        "1/4 with all weights positive. Seed s trains the policy with seed s and draws the "
        f"fresh sessions with seed {EVAL_SEED} + s; the shops stay the same. "
        "OLD: each objective's linked terms only, the learned "
        "remainder shown as 'interaction' (before #19). NEW: linked terms plus the objective's "
        "own head part w_k r_k. Deletion test: drop objective k (w_k = 0, others renormalized), "
        "re-rank every candidate; Spearman correlation per request between each listed item's "
        "part for k and its fall in rank (1: the explanation orders the items exactly as "
        "dropping the objective moves them). 95% bootstrap interval over (request, objective) "
        "cases, paired, within each seed; mean ± sd (n − 1) across seeds. The within-seed "
        "intervals hold the seed's trained policy fixed; NEW − OLD's 95% Student t interval "
        "over the seeds' differences is the one that counts training-seed variance "
        f"(*{SIG}*: it excludes 0).",
        "",
        "Across seeds (simulated shops):",
        "",
        "| shop | objectives | seeds | named share OLD | named share NEW | deletion ρ OLD | "
        "deletion ρ NEW | NEW − OLD | within-seed interval excludes 0 | NEW − OLD, 95% t "
        f"interval over seeds | {SIG} |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]

    def differences(name: str) -> list[float]:
        return [float(per_seed[s]["shops"][name]["difference"]) for s in seeds]

    def t_cells(name: str) -> str:
        if len(seeds) < 2:
            return "— | —"
        text, significant = over_seeds(differences(name))
        return f"{text} | {yes_no(significant)}"

    def ms(v: dict[str, float]) -> str:
        return f"{v['mean']:.3f} ± {v['sd']:.3f}"

    for name, r in means.items():
        n = r["seeds"]
        excludes = (
            f"above 0 in {r['ci_above_0']}/{n}"
            if r["ci_above_0"]
            else f"below 0 in {r['ci_below_0']}/{n}"
            if r["ci_below_0"]
            else f"in 0/{n}"
        )
        if r["ci_above_0"] and r["ci_below_0"]:
            excludes += f", below 0 in {r['ci_below_0']}/{n}"
        lines.append(
            f"| {shown(name)} | {', '.join(r['objectives'])} | {n} | {ms(r['named_share_old'])} | "
            f"{ms(r['named_share_new'])} | {ms(r['deletion_spearman_old'])} | "
            f"{ms(r['deletion_spearman_new'])} | {r['difference']['mean']:+.3f} ± "
            f"{r['difference']['sd']:.3f} | {excludes} | {t_cells(name)} |"
        )
    lines += [
        "",
        "Per seed (simulated shops):",
        "",
        "| shop | seed | named share OLD | named share NEW | deletion ρ OLD | "
        "deletion ρ NEW | NEW − OLD [95% within the seed] | cases |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in means:
        for seed in seeds:
            r = per_seed[seed]["shops"][name]
            lo, hi = r["difference_ci"]
            lines.append(
                f"| {shown(name)} | {seed} | {r['named_share_old']:.3f} | "
                f"{r['named_share_new']:.3f} | {r['deletion_spearman_old']:.3f} | "
                f"{r['deletion_spearman_new']:.3f} | {r['difference']:+.3f} "
                f"[{lo:+.3f}, {hi:+.3f}] | {r['cases']:,} |"
            )
    lines += ["", "Reading (generated from these runs' numbers):", ""]
    for name, r in means.items():
        n = r["seeds"]
        new = r["deletion_spearman_new"]["mean"]
        verdict = (
            f"predict the deletion better in every seed ({n}/{n} within-seed intervals above 0)"
            if r["ci_above_0"] == n
            else f"predict it worse in every seed ({n}/{n} within-seed intervals below 0)"
            if r["ci_below_0"] == n
            else f"do not predict it better in every seed (within-seed intervals above 0 in "
            f"{r['ci_above_0']}/{n}, below 0 in {r['ci_below_0']}/{n}"
            + (
                "; each interval is over one trained policy's requests, so it does not cover "
                "the training seed: which explanation predicts better depends on it"
                if r["ci_above_0"] and r["ci_below_0"]
                else ""
            )
            + ")"
        )
        over = ""
        if len(seeds) > 1:
            text, significant = over_seeds(differences(name))
            over = f"; NEW − OLD over the {len(seeds)} seeds, 95% t interval: {text}, " + (
                "significant at 95%" if significant else "which holds 0: not significant at 95%"
            )
        lines.append(
            f"- {shown(name)}: the old explanation left {1 - r['named_share_old']['mean']:.0%} of the "
            f"parts' magnitude to 'interaction' (mean over seeds); the new one names every part "
            f"by construction. Dropping an objective: the new parts {verdict} (Spearman "
            f"{ms(r['deletion_spearman_new'])} vs {ms(r['deletion_spearman_old'])}){over}"
            + (
                "; but weakly: below 0.2, the parts do not tell which items dropping the "
                "objective would move."
                if new < 0.2
                else "."
            )
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
