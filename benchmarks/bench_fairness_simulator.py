"""The trade-off front with exposure fairness on and off, measured in the simulator.

The simulated shop has sellers of unequal size and quality (Zipf sizes; an item's
quality and popularity rise with its seller's size). Its search sessions are a
`RankingProblem` whose list values are the simulator's exact expectations
(`problem_from_simulator`: clicks and revenue from `RankingEnv.expected_feedback`, each
over its session's ideal), not a model's. For each weighting of a simplex grid over
(clicks, revenue, diversity), the sessions are served in order as one stream, three ways
on equal footing (same sessions, same candidates, same scores):

- off: the weighted sum's top 10;
- exposure: the service's exposure controller over the stream (sellers as the groups,
  merit the candidates' true click expectation, strength 1, integral 0.1);
- FA*IR: at least the binomial minimum of the small sellers' items (all but the 5
  largest) at every prefix, p = their share of the catalog, alpha = 0.1 (adjusted).

Measured per run: clicks, revenue, diversity (embedding), the mean within-list seller
fairness (the exposure_fairness objective), and, over the stream, the disparate exposure
ratio among the 10 sellers with the most merit (exposure = attention 1/log2(1 + j);
1 is fair) and the exposure-merit total variation over all sellers (0 is fair). Seeds
change the world and the sessions; values are mean ± sd over seeds.

    .venv/bin/python benchmarks/bench_fairness_simulator.py [--seeds 3] [--sessions 600]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from paretorec.constraints import (
    ExposureSpec,
    FairTopK,
    ListConstraints,
    RuleSet,
    list_arranger,
)
from paretorec.data.datasets import BuiltinDataset, load_builtin
from paretorec.evaluate.fairness import attention, disparate_exposure
from paretorec.moo.problem import RankingProblem, RankingRequest, resolve_objectives
from paretorec.moo.simulated import problem_from_simulator
from paretorec.preference import simplex_grid
from paretorec.simulate import RankingEnv, WorldConfig, generate_world, world_from_catalog
from significance import SIG, yes_no
from spread import t_interval, t_interval_verdict

RESULTS = Path(__file__).resolve().parent / "results"
OBJECTIVES = "clicks,revenue,diversity,fairness"
WEIGHED = 3  # the grid weighs clicks, revenue, diversity; fairness is only measured
K = 10
TOP = 10
BIG = 5  # the largest sellers; the rest are FA*IR's protected group
FAIR_BAND = (0.8, 1.25)
RUNS = ("off", "exposure", "FA*IR")


def build(
    seed: int, n_items: int, n_sessions: int, catalog: str | None
) -> tuple[RankingProblem, list[Any], np.ndarray]:
    """The simulator's problem, each kept session's candidates' groups, and every item's
    group (codes from 0): sellers of a generated world, or a real catalog's brands
    (unbranded items one group) with simulated shoppers."""
    if catalog is None:
        world = generate_world(n_items, n_items // 10, config=WorldConfig.lively(), seed=seed)
        labels = world.items.seller
    else:
        items = load_builtin(BuiltinDataset(catalog)).items
        world = world_from_catalog(items, 2000, config=WorldConfig.lively(), seed=seed)
        labels = world.items.brand
    codes = np.unique(labels, return_inverse=True)[1].astype(np.int64)
    problem = problem_from_simulator(
        world, resolve_objectives(OBJECTIVES), n_sessions=n_sessions, k=K, seed=seed + 1
    )
    # the same sessions again (the env is deterministic in its seed) for their candidates
    obs = RankingEnv(world, n_sessions=n_sessions, list_size=K, seed=seed + 1).reset(seed + 1)
    kept = problem.evaluator.sessions  # type: ignore[attr-defined]
    groups = [codes[obs.candidates[s]] for s in kept.tolist()]
    return problem, groups, codes


def stream_fairness(
    lists: list[np.ndarray], sellers: list[np.ndarray], merit: list[np.ndarray]
) -> tuple[float, float]:
    """Disparate exposure (top sellers by merit) and total variation over the stream."""
    exposure: dict[str, float] = {}
    worth: dict[str, float] = {}
    for ranked, groups, value in zip(lists, sellers, merit, strict=True):
        for w, i in zip(attention(len(ranked)), ranked.tolist(), strict=True):
            exposure[str(groups[i])] = exposure.get(str(groups[i]), 0.0) + float(w)
        for g, v in zip(groups.tolist(), value.tolist(), strict=True):
            worth[str(g)] = worth.get(str(g), 0.0) + v
    e_total, m_total = sum(exposure.values()), sum(worth.values())
    e = {g: v / e_total for g, v in exposure.items()}
    m = {g: v / m_total for g, v in worth.items()}
    tv = 0.5 * sum(abs(e.get(g, 0.0) - m.get(g, 0.0)) for g in set(e) | set(m))
    return disparate_exposure(e, m, TOP), tv


def weighted(request: RankingRequest, weights: np.ndarray) -> np.ndarray:
    out: np.ndarray = request.signals @ weights
    return out


def run_seed(
    seed: int, n_items: int, n_sessions: int, grid: np.ndarray, catalog: str | None
) -> list[dict[str, Any]]:
    problem, sellers, codes = build(seed, n_items, n_sessions, catalog)
    clicks = problem.index("clicks")
    merit = [r.signals[:, clicks] for r in problem.requests]  # true click expectation, scaled
    records = [[{"item_id": str(n), "group": str(s)} for n, s in enumerate(c)] for c in sellers]
    sizes = np.bincount(codes)
    big = set(np.argsort(-sizes)[:BIG].tolist())
    protected = frozenset(str(s) for s in range(sizes.size) if s not in big)
    share = float(sizes[[int(s) for s in protected]].sum() / sizes.sum())
    queries = [None] * len(records)
    arrangers = {
        "off": None,
        "exposure": list_arranger(
            ListConstraints(RuleSet()),
            records,
            queries,
            exposure=ExposureSpec("group", strength=1.0, integral=0.1),
            merit=merit,
        ),
        "FA*IR": list_arranger(
            ListConstraints(RuleSet(), FairTopK("group", protected, p=share, alpha=0.1)),
            records,
            queries,
        ),
    }
    rows = []
    for w in grid:
        weights = np.zeros(problem.n_objectives)
        weights[:WEIGHED] = w
        for run in RUNS:
            constrained = replace(problem, arranger=arrangers[run])
            lists = constrained.rank_by(partial(weighted, weights=weights))
            values = constrained.evaluate(lists)
            ratio, tv = stream_fairness(lists, [np.asarray(s) for s in sellers], merit)
            rows.append(
                {
                    "seed": seed,
                    "run": run,
                    "weights": w.tolist(),
                    **{name: float(v) for name, v in zip(problem.names, values, strict=True)},
                    "disparate_exposure": ratio,
                    "total_variation": tv,
                    "protected_share": share,
                    "sessions": len(problem.requests),
                }
            )
    return rows


def summarize(rows: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    out = []
    keys = sorted(
        {(tuple(r["weights"]), r["run"]) for r in rows}, key=lambda x: (x[0], RUNS.index(x[1]))
    )
    for weights, run in keys:
        group = [r for r in rows if tuple(r["weights"]) == weights and r["run"] == run]
        summary: dict[str, Any] = {"weights": list(weights), "run": run, "seeds": len(group)}
        for name in [*names, "disparate_exposure", "total_variation"]:
            values = np.array([r[name] for r in group], dtype=np.float64)
            summary[name] = (
                float(values.mean()),
                float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            )
        out.append(summary)
    return out


def mark_front(table: list[dict[str, Any]]) -> None:
    """`front`: whether a row's mean (clicks, revenue, -|log disparate exposure|) is not
    dominated by any other row's, over every run and weighting together."""
    points = np.array(
        [
            [
                s["expected_clicks"][0],
                s["expected_revenue"][0],
                -abs(math.log(s["disparate_exposure"][0])),
            ]
            for s in table
        ]
    )
    for s, p in zip(table, points, strict=True):
        s["front"] = not any(np.all(q >= p) and np.any(q > p) for q in points)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--items", type=int, default=4000)
    parser.add_argument("--sessions", type=int, default=600)
    parser.add_argument("--divisions", type=int, default=2)
    parser.add_argument(
        "--catalog", choices=["icecat"], default=None, help="a real catalog; its brands as groups"
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="rewrite the markdown from the stored json (fairness_simulator, or with "
        "--catalog fairness_<catalog>) without running",
    )
    args = parser.parse_args()
    name = "fairness_simulator" if args.catalog is None else f"fairness_{args.catalog}"
    if args.render:
        stored = json.loads((RESULTS / f"{name}.json").read_text())
        (RESULTS / f"{name}.md").write_text("\n".join(markdown(stored, args.catalog)))
        return
    grid = simplex_grid(WEIGHED, args.divisions)
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for seed in range(args.seeds):
        rows += run_seed(seed, args.items, args.sessions, grid, args.catalog)
        print(f"seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
    names = measured(rows)
    table = summarize(rows, names)
    mark_front(table)
    result = {
        "rows": rows,
        "summary": table,
        "seeds": args.seeds,
        "items": args.items,
        "sessions": args.sessions,
        "wall_s": time.perf_counter() - start,
        "command": "python benchmarks/bench_fairness_simulator.py " + " ".join(sys.argv[1:]),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2))
    lines = markdown(result, args.catalog)
    (RESULTS / f"{name}.md").write_text("\n".join(lines))
    print("\n".join(lines))


def measured(rows: list[dict[str, Any]]) -> list[str]:
    """The objectives' names a row carries (clicks, revenue, diversity, list fairness)."""
    return [n for n in rows[0] if n.startswith(("expected", "embedding", "exposure_fair"))]


def seed_changes(rows: list[dict[str, Any]], run: str, name: str) -> list[float]:
    """Per seed, `run`'s relative change (%) of `name` against off, averaged over the
    weightings of that seed (a weighting where off is 0 is left out)."""
    out = []
    for seed in sorted({r["seed"] for r in rows}):
        off = {
            tuple(r["weights"]): r[name] for r in rows if r["seed"] == seed and r["run"] == "off"
        }
        changes = [
            100 * (r[name] / off[tuple(r["weights"])] - 1)
            for r in rows
            if r["seed"] == seed and r["run"] == run and off.get(tuple(r["weights"]))
        ]
        if changes:
            out.append(float(np.mean(changes)))
    return out


def weighting_changes(
    rows: list[dict[str, Any]], run: str, name: str, weights: list[float]
) -> list[float]:
    """Per seed, `run`'s relative change (%) of `name` against off at one weighting."""
    out = []
    for seed in sorted({r["seed"] for r in rows}):
        at = {r["run"]: r[name] for r in rows if r["seed"] == seed and r["weights"] == weights}
        if at.get("off") and run in at:
            out.append(100 * (at[run] / at["off"] - 1))
    return out


def interval_cells(changes: list[float]) -> tuple[str, str]:
    """The 95% t interval over the seeds of per-seed changes (%) and its sig. at 95% cell;
    empty with fewer than 2 seeds."""
    if len(changes) < 2:
        return "", ""
    text, significant = t_interval_verdict(changes, digits=1)
    return text, yes_no(significant)


def direction(changes: list[float]) -> str:
    """What the interval says: higher / lower when it excludes 0, else no significant change."""
    if len(changes) < 2:
        return "one seed, no interval"
    _, lower, upper = t_interval(changes)
    if lower > 0:
        return "higher"
    if upper < 0:
        return "lower"
    return "no significant change"


def markdown(result: dict[str, Any], catalog: str | None) -> list[str]:
    """The section's lines from a run's stored result (rows, summary, seeds, items,
    command, wall time)."""
    rows: list[dict[str, Any]] = result["rows"]
    table: list[dict[str, Any]] = result["summary"]
    names = measured(rows)
    weightings = len({tuple(s["weights"]) for s in table})

    def cell(pair: tuple[float, float], fmt: str = ".4f") -> str:
        mean, sd = pair
        if not math.isfinite(mean):
            return "inf"
        return f"{mean:{fmt}} ± {sd:{fmt}}"

    short = {"expected_clicks": "clicks", "expected_revenue": "revenue",
             "embedding_diversity": "diversity", "exposure_fairness": "list fairness"}  # fmt: skip
    sessions = rows[0]["sessions"]
    if catalog is None:
        title = "## Exposure fairness on and off in the simulator"
        shop = (
            f"A simulated shop of {result['items']:,} items with sellers of Zipf sizes (quality "
            "rising with size), sellers as the groups"
        )
        who = "sellers"
    else:
        title = f"## Exposure fairness on and off: {catalog}'s brands, simulated shoppers"
        shop = (
            f"{catalog}'s real catalog (its brands as the groups, unbranded items one "
            "group; categories, quality and sellers filled in by the simulator's adapter) "
            "with 2,000 simulated shoppers"
        )
        who = "brands"
    lines = [
        title,
        "",
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}. Command: "
        f"`{result['command'].strip()}` ({result['wall_s'] / 60:.1f} min). {shop}; about "
        f"{sessions} search sessions with a relevant candidate per seed, 50 candidates, top "
        f"{K}; values are the simulator's exact expectations over each session's ideal "
        "(clicks, revenue), the embedding diversity and the within-list seller fairness of "
        f"the lists, mean ± sd over {result['seeds']} seeds (world and sessions). Over the "
        f"stream of sessions: the disparate exposure ratio among the {TOP} {who} with the most "
        "merit (true click expectation; 1 is fair) and the exposure-merit total variation "
        "(0 is fair). Runs: off (weighted sum), exposure (the service's controller, strength "
        f"1), FA*IR ({who} outside the {BIG} largest protected, p = their catalog share, "
        "alpha 0.1 adjusted). Weights over (clicks, revenue, diversity).",
        "",
        "| weights | run | "
        + " | ".join(short.get(n, n) for n in names)
        + " | disparate exposure | total variation | on the front |",
        "|---|---|" + "---:|" * (len(names) + 2) + "---|",
    ]
    for s in table:
        w = "/".join(f"{x:g}" for x in s["weights"])
        lines.append(
            f"| {w} | {s['run']} | "
            + " | ".join(cell(s[n]) for n in names)
            + f" | {cell(s['disparate_exposure'], '.2f')} | {cell(s['total_variation'], '.3f')} | "
            + ("yes" if s["front"] else "")
            + " |"
        )
    lines.append("")
    # the price of fairness: per weighting, each constrained run against off
    for run in RUNS[1:]:
        changes = {n: [] for n in names}  # type: dict[str, list[float]]
        inside = 0
        for s in table:
            if s["run"] != run:
                continue
            base = next(b for b in table if b["run"] == "off" and b["weights"] == s["weights"])
            inside += FAIR_BAND[0] <= s["disparate_exposure"][0] <= FAIR_BAND[1]
            for n in names:
                if base[n][0]:
                    changes[n].append(100 * (s[n][0] / base[n][0] - 1))
        lines.append(
            f"- {run}: disparate exposure within {FAIR_BAND[0]}-{FAIR_BAND[1]} at {inside} of "
            f"{weightings} weightings; change against off, mean over weightings: "
            + ", ".join(f"{short.get(n, n)} {np.mean(v):+.1f}%" for n, v in changes.items() if v)
            + "."
        )
    off_in = sum(
        FAIR_BAND[0] <= s["disparate_exposure"][0] <= FAIR_BAND[1]
        for s in table
        if s["run"] == "off"
    )
    lines.append(
        f"- off: disparate exposure within the band at {off_in} of {weightings} weightings."
    )
    on_front = {run: sum(s["front"] for s in table if s["run"] == run) for run in RUNS}
    lines.append(
        "- the front of (clicks, revenue, closeness of disparate exposure to 1) over all runs "
        "and weightings holds "
        + ", ".join(f"{n} {run} point(s)" for run, n in on_front.items())
        + "."
    )
    lines.append("")
    return lines + seed_intervals(rows, table, names, short, catalog)


def seed_intervals(
    rows: list[dict[str, Any]],
    table: list[dict[str, Any]],
    names: list[str],
    short: dict[str, str],
    catalog: str | None,
) -> list[str]:
    """The changes against off with the variance over seeds: each seed's relative change
    (averaged over the weightings, then per weighting), its mean and 95% Student t interval
    over the seeds, and whether that interval excludes 0."""
    seeds = len({r["seed"] for r in rows})
    if seeds < 2:
        return []
    weightings = len({tuple(s["weights"]) for s in table})
    where = "simulated shop" if catalog is None else f"{catalog}'s brands, simulated shoppers"
    lines = [
        f"Change against off with its variance over the {seeds} seeds ({where}; the seeds "
        "change the world and the sessions, and the weightings of one seed share them): per "
        f"seed, the relative change averaged over the {weightings} weightings; its mean and "
        f"95% Student t interval over the {seeds} per-seed values (%). The column *change of the "
        "means* repeats the figure above (the change of the seed-mean values, averaged over "
        f"the weightings); *{SIG}*: the t interval excludes 0.",
        "",
        f"| run | measure | change of the means (%) | per-seed change, 95% t interval (%) | {SIG} |",
        "|---|---|---:|---:|---:|",
    ]
    verdicts = []
    for run in RUNS[1:]:
        said = []
        for n in names:
            of_means = [
                100 * (s[n][0] / b[n][0] - 1)
                for s in table
                if s["run"] == run
                for b in table
                if b["run"] == "off" and b["weights"] == s["weights"] and b[n][0]
            ]
            per_seed = seed_changes(rows, run, n)
            interval, sig = interval_cells(per_seed)
            mean = f"{np.mean(of_means):+.1f}" if of_means else ""
            lines.append(f"| {run} | {short.get(n, n)} | {mean} | {interval} | {sig} |")
            said.append(f"{short.get(n, n)} {direction(per_seed)}")
        verdicts.append(f"- {run} against off over the {seeds} seeds: " + ", ".join(said) + ".")
    lines += ["", *verdicts, ""]
    lines += [
        f"Per weighting, clicks and revenue against off: each seed's relative change at that "
        f"weighting, its mean and 95% t interval over the {seeds} seeds (%); *change of the "
        "means*: the seed-mean values' change, as the table above gives them.",
        "",
        "| weights | run | clicks: change of the means | clicks: per-seed, 95% t interval "
        f"| {SIG} | revenue: change of the means | revenue: per-seed, 95% t interval | {SIG} |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in table:
        if s["run"] == "off":
            continue
        base = next(b for b in table if b["run"] == "off" and b["weights"] == s["weights"])
        cells: list[str] = []
        for n in ("expected_clicks", "expected_revenue"):
            if n not in names:
                cells += ["", "", ""]
                continue
            change = f"{100 * (s[n][0] / base[n][0] - 1):+.1f}" if base[n][0] else ""
            cells += [change, *interval_cells(weighting_changes(rows, s["run"], n, s["weights"]))]
        w = "/".join(f"{x:g}" for x in s["weights"])
        lines.append(f"| {w} | {s['run']} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


if __name__ == "__main__":
    main()
