"""Benchmark of the simulator: throughput, world generation time, and calibration.

1. Throughput: sessions per second of `RankingEnv` (reset, a uniformly random list of 10,
   step) for a batch of 10,000 sessions, median of several repeats, in shops of 100,000
   and 1,000,000 items; the same for the exact expectation (`expected_feedback`); the time
   to generate each world (catalog, shoppers, index, calibration) and its items table;
   and the end-to-end time of `simulate_logs` for 100,000 sessions.
2. Calibration: click-through rate by position of the default (calibrated) shop under a
   uniformly random policy with 3 slots, against the Open Bandit Dataset's random/ALL
   campaign, both computed in this run with `paretorec.data.stats.ctr_by_position`.

Prints a Markdown section and writes it to benchmarks/results/simulator.md, with the
figures in simulator.json beside it.

    .venv/bin/python benchmarks/bench_simulator.py [--obd-wheel PATH] [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from paretorec.data.datasets import BuiltinDataset, DatasetUnavailableError, load_builtin
from paretorec.data.stats import ctr_by_position
from paretorec.simulate import (
    OBD_RANDOM_ALL_CTR,
    RankingEnv,
    UniformRandomPolicy,
    World,
    WorldConfig,
    generate_world,
    simulate_logs,
)

RESULTS = Path(__file__).resolve().parent / "results"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def throughput(world: World, batch: int, list_size: int, repeats: int) -> dict[str, float]:
    """Median sessions per second of a sampled step and of the exact expectation."""
    env = RankingEnv(world, n_sessions=batch, list_size=list_size)
    policy = UniformRandomPolicy()
    rng = np.random.default_rng(0)
    step_times, exact_times = [], []
    for r in range(repeats + 1):  # the first round warms up
        start = time.perf_counter()
        obs = env.reset(seed=r)
        actions = policy.sample(obs, list_size, rng).actions
        env.step(actions)
        step_times.append(time.perf_counter() - start)
        obs = env.reset(seed=r)
        actions = policy.sample(obs, list_size, rng).actions
        start = time.perf_counter()
        env.expected_feedback(actions)
        exact_times.append(time.perf_counter() - start)
    step, exact = statistics.median(step_times[1:]), statistics.median(exact_times[1:])
    return {"step_s": step, "sessions_per_s": batch / step, "exact_sessions_per_s": batch / exact}


def ci95(clicks: int, impressions: int) -> float:
    p = clicks / impressions
    return 1.96 * math.sqrt(p * (1 - p) / impressions)


def calibration_table(
    world: World, n_sessions: int, obd_wheel: Path | None
) -> tuple[list[dict[str, Any]], str | None, float]:
    seconds, logs = timed(lambda: simulate_logs(world, n_sessions, seed=1, list_size=3))
    assert logs.events is not None
    sim = ctr_by_position(logs.events)
    obd: pl.DataFrame | None = None
    note = None
    try:
        obd_data = load_builtin(BuiltinDataset.OBD_RANDOM_ALL, source=obd_wheel)
        assert obd_data.events is not None
        obd = ctr_by_position(obd_data.events)
    except DatasetUnavailableError as error:
        note = f"Open Bandit Dataset unavailable ({error}); its published figures are shown."
    rows = []
    for i, s in enumerate(sim.iter_rows(named=True)):
        row: dict[str, Any] = {
            "position": s["position"],
            "sim_impressions": s["impressions"],
            "sim_clicks": s["clicks"],
            "sim_ctr": s["ctr"],
            "sim_ci95": ci95(s["clicks"], s["impressions"]),
        }
        if obd is not None:
            o = obd.row(i, named=True)
            row |= {
                "obd_impressions": o["impressions"],
                "obd_clicks": o["clicks"],
                "obd_ctr": o["ctr"],
                "obd_ci95": ci95(o["clicks"], o["impressions"]),
            }
        else:
            row |= {"obd_impressions": None, "obd_clicks": None, "obd_ctr": OBD_RANDOM_ALL_CTR[i]}
        row["ratio"] = s["ctr"] / row["obd_ctr"]
        rows.append(row)
    total_sim = (sum(r["sim_clicks"] for r in rows), sum(r["sim_impressions"] for r in rows))
    overall: dict[str, Any] = {
        "position": "all",
        "sim_impressions": total_sim[1],
        "sim_clicks": total_sim[0],
        "sim_ctr": total_sim[0] / total_sim[1],
        "sim_ci95": ci95(*total_sim),
    }
    if obd is not None:
        total_obd = (int(obd["clicks"].sum()), int(obd["impressions"].sum()))
        overall |= {
            "obd_impressions": total_obd[1],
            "obd_clicks": total_obd[0],
            "obd_ctr": total_obd[0] / total_obd[1],
            "obd_ci95": ci95(*total_obd),
        }
    else:
        overall |= {"obd_impressions": None, "obd_clicks": None, "obd_ctr": 0.0038}
    overall["ratio"] = overall["sim_ctr"] / overall["obd_ctr"]
    rows.append(overall)
    return rows, note, seconds


def lively_ctr(n_items: int, n_sessions: int) -> list[float]:
    world = generate_world(n_items, 20_000, seed=2, config=WorldConfig.lively())
    env = RankingEnv(world, n_sessions=n_sessions, list_size=3)
    obs = env.reset(seed=3)
    actions = UniformRandomPolicy().sample(obs, 3, np.random.default_rng(3)).actions
    clicks = env.step(actions).feedback.clicks
    return [float(x) for x in clicks.mean(axis=0)]


def fmt(x: float | None, digits: int = 5) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "## Simulator",
        "",
        f"Machine: {m['cpus']} CPUs, {m['platform']}, Python {m['python']}, numpy {m['numpy']}. "
        f"Command: `{report['command']}`.",
        "",
        "### Throughput",
        "",
        f"A batch of {report['batch']:,} sessions, a uniformly random list of "
        f"{report['list_size']} from {report['n_candidates']} candidates per session; median of "
        f"{report['repeats']} repeats. *Step*: reset (shoppers, intents, candidates), policy, "
        "sampled feedback. *Exact*: `expected_feedback` of a list. *World*: catalog, "
        f"{report['n_users']:,} shoppers, candidate index and click calibration.",
        "",
        "| items | world generation (s) | items table (s) | step (sessions/s) | exact (sessions/s) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for t in report["throughput"]:
        lines.append(
            f"| {t['n_items']:,} | {t['world_s']:.2f} | {t['items_frame_s']:.2f} | "
            f"{t['sessions_per_s']:,.0f} | {t['exact_sessions_per_s']:,.0f} |"
        )
    e2e = report["end_to_end"]
    lines += [
        "",
        f"End to end, `simulate_logs` of {e2e['n_sessions']:,} sessions (lists of "
        f"{e2e['list_size']}) in the {e2e['n_items']:,}-item shop, events table included: "
        f"{e2e['seconds']:.1f} s ({e2e['events']:,} events).",
        "",
        "### Calibration against the Open Bandit Dataset",
        "",
        "CTR by position under a uniformly random policy with 3 slots: the default "
        f"`WorldConfig()` shop ({report['calibration']['n_items']:,} items, "
        f"{report['calibration']['n_sessions']:,} sessions = "
        f"{report['calibration']['rounds']:,} rounds, simulated in "
        f"{report['calibration']['seconds']:.1f} s) against OBD random/ALL (10,000 rounds), "
        "both from `ctr_by_position`; ± is a 95% normal interval.",
        "",
        "| position | OBD impressions | OBD clicks | OBD CTR | simulated impressions | "
        "simulated CTR | sim / OBD |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["calibration"]["rows"]:
        obd_ci = f" ± {r['obd_ci95']:.5f}" if r.get("obd_ci95") is not None else ""
        obd_imp = "–" if r["obd_impressions"] is None else f"{r['obd_impressions']:,}"
        obd_clk = "–" if r["obd_clicks"] is None else f"{r['obd_clicks']:,}"
        lines.append(
            f"| {r['position']} | {obd_imp} | {obd_clk} | {fmt(r['obd_ctr'])}{obd_ci} | "
            f"{r['sim_impressions']:,} | {fmt(r['sim_ctr'])} ± {r['sim_ci95']:.5f} | "
            f"{r['ratio']:.2f} |"
        )
    if report["calibration"]["note"]:
        lines += ["", report["calibration"]["note"]]
    lv = report["lively"]
    lines += [
        "",
        f"`WorldConfig.lively()` (same protocol, {lv['n_sessions']:,} sessions): CTR by position "
        + ", ".join(f"{x:.4f}" for x in lv["ctr"])
        + ".",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--obd-wheel", type=Path, default=None, help="the obp 0.4.1 wheel")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    sizes = (20_000, 100_000) if args.quick else (100_000, 1_000_000)
    n_users = 20_000 if args.quick else 100_000
    batch, list_size, repeats = (2_000, 10, 3) if args.quick else (10_000, 10, 7)
    cal_sessions = 50_000 if args.quick else 1_000_000
    e2e_sessions = 20_000 if args.quick else 100_000

    results = []
    worlds: dict[int, World] = {}
    for n_items in sizes:
        world_s, world = timed(partial(generate_world, n_items, n_users, seed=0))
        frame_s, _ = timed(world.items_frame)
        tp = throughput(world, batch, list_size, repeats)
        results.append({"n_items": n_items, "world_s": world_s, "items_frame_s": frame_s} | tp)
        print(f"{n_items:>9,} items: world {world_s:.2f} s, {tp['sessions_per_s']:,.0f} sessions/s")
        worlds[n_items] = world

    small = worlds[sizes[0]]
    e2e_s, logs = timed(lambda: simulate_logs(small, e2e_sessions, seed=2, list_size=10))
    assert logs.events is not None
    print(f"simulate_logs {e2e_sessions:,} sessions: {e2e_s:.1f} s")

    rows, note, cal_s = calibration_table(small, cal_sessions, args.obd_wheel)
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
        "command": "python benchmarks/bench_simulator.py" + (" --quick" if args.quick else ""),
        "batch": batch,
        "list_size": list_size,
        "repeats": repeats,
        "n_users": n_users,
        "n_candidates": small.n_candidates,
        "throughput": results,
        "end_to_end": {
            "n_items": sizes[0],
            "n_sessions": e2e_sessions,
            "list_size": 10,
            "seconds": e2e_s,
            "events": logs.events.frame.height,
        },
        "calibration": {
            "n_items": sizes[0],
            "n_sessions": cal_sessions,
            "rounds": cal_sessions * 3,
            "seconds": cal_s,
            "rows": rows,
            "note": note,
        },
        "lively": {"n_sessions": 200_000, "ctr": lively_ctr(sizes[0], 200_000)},
    }
    text = markdown(report)
    print()
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "simulator-quick" if args.quick else "simulator"
    (args.out / f"{stem}.md").write_text(text)
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
