"""The learning loop against a frozen policy in a shop that drifts.

A small simulated shop (every item a candidate) logs its first day with uniformly random
lists; `retrain` learns policy v0001 from it, which both arms then serve (Plackett-Luce
at the same temperature, so both explore alike). Before day `DRIFT_DAY` the shop's taste
moves (`paretorec.loop.simulated.drift`: items' latent quality redrawn in part, every
shopper's department preferences shifted). Each day, on the same shop:

- frozen: keeps serving v0001;
- loop: serves its promoted policy, logs the day, runs `retrain` on the log since its
  promoted version and promotes what the gate approves.

Each arm's value per day is the simulator's exact expectation (clicks, purchases and
revenue per list in mean prices, and the weighted objective the gate uses) over the same
fresh sessions. After each retrain the simulator also says whether the candidate was
really better than the promoted policy on the weighted objective, so the gate's
decisions are scored against the truth. Several seeds (worlds), mean ± sd.

    .venv/bin/python benchmarks/bench_loop.py [--seeds 3] [--days 6] [--items 30]
    .venv/bin/python benchmarks/bench_loop.py --render   # loop.md from loop.json, no run

`--items N` other than 30 runs the same loop on an N-item shop (at most 2,000: the loop's
policy ranks the whole catalog) and adds its summary to the "larger catalogs" table of
loop.md, keeping the 30-item runs (loop.json's `catalogs`).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from paretorec.loop import GateRule, RetrainConfig, retrain
from paretorec.loop.policy import MAX_ITEMS, LoopPolicy
from paretorec.loop.simulated import drift, joined, later, serving_policy, true_value
from paretorec.serve.registry import ModelKind, ModelRegistry
from paretorec.simulate import UniformRandomPolicy, generate_world
from paretorec.simulate.config import WorldConfig
from paretorec.simulate.dataset import simulate_logs
from significance import SIG, yes_no
from spread import t_interval_verdict

RESULTS = Path(__file__).resolve().parent / "results"
ITEMS, USERS, SESSIONS, LIST = 30, 300, 2000, 3
TEMPERATURE, EPOCHS, DRIFT_DAY, STRENGTH = 0.5, 3, 2, 0.5
TRUTH_SESSIONS = 3000
OBJECTIVES = ("clicks", "purchases", "revenue", "weighted")


def _served(registry: ModelRegistry, version: str | None = None) -> LoopPolicy:
    return LoopPolicy.load(registry.load(ModelKind.POLICY, version)[0])


def run_seed(seed: int, days: int, items: int = ITEMS) -> dict[str, object]:
    config = RetrainConfig(
        epochs=EPOCHS, temperature=TEMPERATURE, gate=GateRule(n_bootstrap=300), seed=seed
    )
    world = generate_world(items, USERS, config=WorldConfig.lively(), seed=seed)
    with tempfile.TemporaryDirectory() as scratch:
        registry = ModelRegistry(Path(scratch))
        log = simulate_logs(
            world,
            SESSIONS,
            seed=seed * 100,
            list_size=LIST,
            policy=UniformRandomPolicy(),
            log_days=1,
        )
        first = retrain(log, registry, config)
        if not first.promoted:  # both arms start from it all the same: the bench's day 1
            registry.promote(ModelKind.POLICY, first.version)
        frozen = _served(registry, first.version)
        rows: list[dict[str, object]] = []
        for day in range(1, days + 1):
            if day == DRIFT_DAY:
                world = drift(world, strength=STRENGTH, seed=seed)
            truth_seed = seed * 1000 + day
            promoted = _served(registry)
            value = {
                arm: true_value(world, serving_policy(world, policy, TEMPERATURE), config.weights,
                                n_sessions=TRUTH_SESSIONS, list_size=LIST, seed=truth_seed)
                for arm, policy in (("frozen", frozen), ("loop", promoted))
            }  # fmt: skip
            today = simulate_logs(
                world, SESSIONS, seed=seed * 100 + day, list_size=LIST,
                policy=serving_policy(world, promoted, TEMPERATURE), log_days=1,
            )  # fmt: skip
            log = joined(log, later(today, day))
            result = retrain(log, registry, config)
            candidate = _served(registry, result.version)
            truth = {
                name: true_value(world, serving_policy(world, policy, TEMPERATURE), config.weights,
                                 n_sessions=TRUTH_SESSIONS, list_size=LIST, seed=truth_seed + 7)["weighted"]
                for name, policy in (("candidate", candidate), ("promoted", promoted))
            }  # fmt: skip
            rows.append({
                "day": day, "drifted": day >= DRIFT_DAY, "frozen": value["frozen"], "loop": value["loop"],
                "promoted": result.promoted, "really_better": truth["candidate"] > truth["promoted"],
                "candidate_truth": truth["candidate"], "promoted_truth": truth["promoted"],
                "reason": result.decision.reason,
            })  # fmt: skip
            print(json.dumps({"seed": seed, **rows[-1]}), flush=True)
    return {"seed": seed, "day0_gate": first.decision.reason, "days": rows}


def _mean_sd(values: list[float]) -> str:
    a = np.asarray(values, dtype=np.float64)
    if a.size == 1:  # one seed: no spread to show
        return f"{a[0]:.4f}"
    return f"{a.mean():.4f} ± {a.std(ddof=1):.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--days", type=int, default=6)
    parser.add_argument("--items", type=int, default=ITEMS, help="Catalog size (at most 2,000).")
    parser.add_argument(
        "--render",
        "--from-json",
        action="store_true",
        dest="render",
        help="Rewrite loop.md from loop.json, running nothing.",
    )
    args = parser.parse_args()
    if args.render:
        saved = json.loads((RESULTS / "loop.json").read_text())
        write_markdown(saved["settings"], saved["runs"], saved.get("catalogs", {}))
        return
    if not 0 < args.items <= MAX_ITEMS:
        parser.error(f"--items must lie in 1..{MAX_ITEMS:,} (the loop ranks the whole catalog)")
    started = time.perf_counter()
    runs = [run_seed(seed, args.days, args.items) for seed in range(args.seeds)]
    seconds = time.perf_counter() - started
    RESULTS.mkdir(exist_ok=True)
    saved = (
        json.loads((RESULTS / "loop.json").read_text()) if (RESULTS / "loop.json").is_file() else {}
    )
    catalogs: dict[str, Any] = saved.get("catalogs", {})
    settings = {"items": args.items, "users": USERS, "sessions_per_day": SESSIONS, "list_size": LIST,
                "temperature": TEMPERATURE, "epochs": EPOCHS, "drift_day": DRIFT_DAY,
                "drift_strength": STRENGTH, "truth_sessions": TRUTH_SESSIONS, "seeds": args.seeds,
                "days": args.days, "seconds": seconds}  # fmt: skip
    if args.items != ITEMS:  # a larger shop: kept beside the 30-item runs
        if "settings" not in saved:
            parser.error("run the 30-item benchmark first: loop.json holds its runs")
        catalogs[str(args.items)] = {"settings": settings, "runs": runs}
        settings, runs = saved["settings"], saved["runs"]
    saved = {"settings": settings, "runs": runs, "catalogs": catalogs}
    (RESULTS / "loop.json").write_text(json.dumps(saved, indent=2))
    write_markdown(settings, runs, catalogs)


def _summary(runs: list[dict[str, Any]], days: int) -> dict[str, Any]:
    """Day `days`' weighted value of each arm, their paired difference and the gate's record."""
    frozen = [float(r["days"][days - 1]["frozen"]["weighted"]) for r in runs]
    loop = [float(r["days"][days - 1]["loop"]["weighted"]) for r in runs]
    decisions = [d for r in runs for d in r["days"]]
    promoted = [d for d in decisions if d["promoted"]]
    return {
        "frozen": frozen,
        "loop": loop,
        "gain": [a - b for a, b in zip(loop, frozen, strict=True)],
        "promoted": len(promoted),
        "right_promotions": sum(bool(d["really_better"]) for d in promoted),
        "refused": len(decisions) - len(promoted),
        "right_refusals": sum(not d["really_better"] for d in decisions if not d["promoted"]),
    }


def over_seeds(differences: list[float]) -> tuple[str, str]:
    """The paired per-seed differences' mean with its 95% t interval over the seeds, and
    the "sig. at 95%" cell (from the unrounded bounds); "—" for both with one seed."""
    if len(differences) < 2:
        return "—", "—"
    text, significant = t_interval_verdict(differences)
    return text, yes_no(significant)


def _catalog_lines(catalogs: dict[str, Any]) -> list[str]:
    if not catalogs:
        return []
    lines = [
        "",
        "### Larger catalogs",
        "",
        "The same loop and settings on larger simulated shops (`--items N`; every item a "
        "candidate, so at most 2,000 items), on the last day, weighted:",
        "",
        "| items | seeds × days | frozen | loop | loop − frozen (paired) | loop − frozen, 95% t "
        f"interval over seeds | {SIG} | promoted (really better) | refused (really no better) "
        "| seconds |",
        "|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for size, saved in sorted(catalogs.items(), key=lambda kv: int(kv[0])):
        s, runs = saved["settings"], saved["runs"]
        m = _summary(runs, s["days"])
        interval, sig = over_seeds(m["gain"])
        lines.append(
            f"| {int(size):,} | {s['seeds']} × {s['days']} | {_mean_sd(m['frozen'])} | "
            f"{_mean_sd(m['loop'])} | {_mean_sd(m['gain'])} | {interval} | {sig} | {m['promoted']} "
            f"({m['right_promotions']}) | {m['refused']} ({m['right_refusals']}) | "
            f"{s['seconds']:.0f} |"
        )
    return lines


def write_markdown(
    settings: dict[str, Any], runs: list[dict[str, Any]], catalogs: dict[str, Any] | None = None
) -> None:
    text = render(settings, runs, catalogs)
    (RESULTS / "loop.md").write_text(text)
    print(text)


def render(
    settings: dict[str, Any], runs: list[dict[str, Any]], catalogs: dict[str, Any] | None = None
) -> str:
    """loop.md's text from loop.json's settings, runs and larger catalogs."""
    seconds, n_seeds, n_days = settings["seconds"], settings["seeds"], settings["days"]

    def per_day(arm: str, day: int, objective: str) -> list[float]:
        return [float(r["days"][day - 1][arm][objective]) for r in runs]

    lines = [
        "## The learning loop in a drifting simulated shop",
        "",
        f"`benchmarks/bench_loop.py`: a {ITEMS}-item simulated shop (lively calibration, every item a "
        f"candidate, lists of {LIST}), {SESSIONS:,} sessions a day. Day 0 is logged by uniformly random "
        f"lists and `retrain` learns v0001 from it (the gate's verdict on it against those lists is in "
        "loop.json; it is both arms' start either way); both arms serve it from day 1 (Plackett-Luce at "
        f"temperature {TEMPERATURE}). Before day {DRIFT_DAY} the shop's taste drifts (items' latent quality "
        f"{STRENGTH:.0%} redrawn, every shopper's department preferences shifted by {STRENGTH:.0%}). "
        "**frozen** keeps v0001; **loop** logs each day through its promoted policy and runs `retrain` "
        "(off-policy training on the log since its promoted version, the SNIPS/DR gate on the latest 30%) "
        f"every day. Values are the simulator's exact expectations per list over {TRUTH_SESSIONS:,} fresh "
        f"sessions (revenue in mean prices; weighted = the gate's 0.5 clicks + 0.3 purchases + 0.2 revenue), "
        f"mean ± sd over {n_seeds} seeds (worlds); {seconds:.0f} s in all on 2 shared cores. "
        "Loop − frozen is paired by seed (the same world and sessions), with its 95% Student t "
        "interval over the seeds: the interval that counts the variance between seeds (world, "
        f"logs and training); *{SIG}*: that interval excludes 0.",
        "",
        f"| day | objective | frozen | loop | loop − frozen, 95% t interval over seeds | {SIG} |",
        "|---:|---|---:|---:|---:|---|",
    ]
    for day in range(1, n_days + 1):
        mark = " (drifted)" if day >= DRIFT_DAY else ""
        for objective in OBJECTIVES:
            frozen, loop = per_day("frozen", day, objective), per_day("loop", day, objective)
            interval, sig = over_seeds([b - a for a, b in zip(frozen, loop, strict=True)])
            lines.append(
                f"| {day}{mark} | {objective} | {_mean_sd(frozen)} | {_mean_sd(loop)} | "
                f"{interval} | {sig} |"
            )
    promotions = ", ".join(
        f"day {day}: {sum(bool(r['days'][day - 1]['promoted']) for r in runs)}/{len(runs)}"
        for day in range(1, n_days + 1)
    )
    lines += ["", f"Seeds whose loop promoted its candidate after the day's retrain: {promotions}."]
    before = DRIFT_DAY - 1
    last = n_days
    recovered = {
        arm: [
            per_day(arm, last, "weighted")[i] / per_day(arm, before, "weighted")[i]
            for i in range(len(runs))
        ]
        for arm in ("frozen", "loop")
    }
    decisions = [d for r in runs for d in r["days"]]
    promoted_rows = [d for d in decisions if d["promoted"]]
    rejected_rows = [d for d in decisions if not d["promoted"]]
    right_promotions = sum(bool(d["really_better"]) for d in promoted_rows)
    right_rejections = sum(not d["really_better"] for d in rejected_rows)
    gain = [
        loop - frozen
        for loop, frozen in zip(
            per_day("loop", last, "weighted"), per_day("frozen", last, "weighted"), strict=True
        )
    ]
    held = [b - a for a, b in zip(recovered["frozen"], recovered["loop"], strict=True)]
    lines += [
        "",
        f"Loop minus frozen on day {last}, weighted, paired by seed: {_mean_sd(gain)} "
        f"(per seed: {', '.join(f'{g:+.4f}' for g in gain)}){_verdict(gain)}.",
        "",
        f"Share of the pre-drift reward (day {before}) held on day {last}: frozen "
        f"{_mean_sd(recovered['frozen'])}, loop {_mean_sd(recovered['loop'])}"
        f"{_verdict(held)}.",
        "",
        f"The gate against the truth, over {len(decisions)} retrains: {len(promoted_rows)} promoted, of "
        f"which {right_promotions} were really better than the promoted policy; {len(rejected_rows)} "
        f"refused, of which {right_rejections} were really no better (the rest were better by less than "
        "the gate could tell on one day's held-back rounds).",
    ]
    lines += [*_catalog_lines(catalogs or {}), ""]
    return "\n".join(lines)


def _verdict(differences: list[float]) -> str:
    """The generated verdict on paired per-seed differences: in how many seeds the loop is
    ahead, and whether the 95% t interval over the seeds excludes 0 (empty for one seed)."""
    if len(differences) < 2:
        return ""
    n = len(differences)
    text, significant = t_interval_verdict(differences)
    return (
        f"; loop ahead in {sum(d > 0 for d in differences)}/{n} seeds; loop − frozen over the "
        f"{n} seeds, 95% t interval: {text}, "
        + ("significant at 95%" if significant else "holds 0: not significant at 95%")
    )


if __name__ == "__main__":
    main()
