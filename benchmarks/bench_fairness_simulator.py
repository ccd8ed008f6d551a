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
    args = parser.parse_args()
    grid = simplex_grid(WEIGHED, args.divisions)
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for seed in range(args.seeds):
        rows += run_seed(seed, args.items, args.sessions, grid, args.catalog)
        print(f"seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
    names = [n for n in rows[0] if n.startswith(("expected", "embedding", "exposure_fair"))]
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
    name = "fairness_simulator" if args.catalog is None else f"fairness_{args.catalog}"
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2))

    def cell(pair: tuple[float, float], fmt: str = ".4f") -> str:
        mean, sd = pair
        if not math.isfinite(mean):
            return "inf"
        return f"{mean:{fmt}} ± {sd:{fmt}}"

    short = {"expected_clicks": "clicks", "expected_revenue": "revenue",
             "embedding_diversity": "diversity", "exposure_fairness": "list fairness"}  # fmt: skip
    sessions = rows[0]["sessions"]
    if args.catalog is None:
        title = "## Exposure fairness on and off in the simulator"
        shop = (
            f"A simulated shop of {args.items:,} items with sellers of Zipf sizes (quality "
            "rising with size), sellers as the groups"
        )
        who = "sellers"
    else:
        title = f"## Exposure fairness on and off: {args.catalog}'s brands, simulated shoppers"
        shop = (
            f"{args.catalog}'s real catalog (its brands as the groups, unbranded items one "
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
        f"the lists, mean ± sd over {args.seeds} seeds (world and sessions). Over the stream "
        f"of sessions: the disparate exposure ratio among the {TOP} {who} with the most "
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
            f"{len(grid)} weightings; change against off, mean over weightings: "
            + ", ".join(f"{short.get(n, n)} {np.mean(v):+.1f}%" for n, v in changes.items() if v)
            + "."
        )
    off_in = sum(
        FAIR_BAND[0] <= s["disparate_exposure"][0] <= FAIR_BAND[1]
        for s in table
        if s["run"] == "off"
    )
    lines.append(
        f"- off: disparate exposure within the band at {off_in} of {len(grid)} weightings."
    )
    on_front = {run: sum(s["front"] for s in table if s["run"] == run) for run in RUNS}
    lines.append(
        "- the front of (clicks, revenue, closeness of disparate exposure to 1) over all runs "
        "and weightings holds "
        + ", ".join(f"{n} {run} point(s)" for run, n in on_front.items())
        + "."
    )
    lines.append("")
    (RESULTS / f"{name}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
