"""Benchmark of the multi-objective ranking methods (`paretorec.moo`), out of sample.

On three problems with the objectives NDCG, expected revenue and embedding diversity
(all in [0, 1], maximized), each problem's requests are split at random (seeded) into
two disjoint halves: every method is *tuned* on the first (PE-LTR trains on it, the
grids, NSGA-II and the re-rankers search on it, and the operating point is chosen on
it) and *reported* on the second, where every weighting it found is re-evaluated
unchanged. Every method gets the same evaluation budget on the tuning half (a weighting
evaluated on every request counts once); NSGA-II also runs with a budget large enough
to converge, and its front's hypervolume is reported against the budget.

- simulator (synthetic shop: every objective simulated): the search sessions of one
  batch of a 20,000-item simulated shop (lively configuration), true objective values
  from `RankingEnv.expected_feedback` (`paretorec.moo.simulated`);
- Home Depot (search; real queries and judgments, *synthetic* revenue): sampled
  queries, candidates = BM25 top 100, NDCG from the judgments, revenue from prices the
  simulator's catalog adapter fills in (Home Depot has none), offline;
- Amazon Games (recommendation; real sequences, *synthetic* revenue): sampled users,
  candidates = the co-occurrence top 100 of their last three items (popularity top-up),
  NDCG of the held-out item, revenue from simulator-filled prices, offline.

Methods: weighted-sum grid, Chebyshev grid (Das-Dennis lattices within the budget),
PE-LTR (one model per lower-bound vector), NSGA-II (pymoo), MMR and DPP re-ranking of a
fused relevance, and the ε-constraint search (max revenue s.t. NDCG ≥ 97% of its best).
Reported on the held-out half: the hypervolume of each method's points (reference: 0 in
every objective), its front size, and the revenue, NDCG and diversity of the point
chosen on the tuning half (the most revenue with NDCG ≥ 97% of the best NDCG any method
reached there). Each method's held-out HV is compared with the weighted-sum grid's (and
NSGA-II's at the large budget with the grid of about as many points) by a paired
bootstrap over the held-out requests (`paired_hv_bootstrap`): the same resamples of
the requests for every method, each point's mean objective vector and the HV recomputed
on each, the 2.5/97.5 percentiles of the HV difference. A last table times fast greedy
DPP (incremental Cholesky) against the naive log-det greedy on the same inputs
(`--no-speed` keeps the stored rows).

Over split seeds (`--seeds S [S ...]`, default `--seed` alone): the whole benchmark runs
once per seed (the seed draws the split and NSGA-II's and PE-LTR's own seeds); the first
seed's report is the main tables, and every seed's report goes to the per-seed store
benchmarks/.work/moo/seed-N.json. Each problem then gets a section over the seeds: the
held-out HV mean ± sd per method, its difference to the weighted-sum grid paired by seed
with a 95% Student t interval over the seeds, and NSGA-II(1000) minus the grid of about as
many points, likewise. Seeds run in separate processes pool: `--keep-stored` keeps
moo.json's main report (its seed, which goes into the store when not there) and adds the
run's seeds; `--render` rewrites moo.md (and moo.json's seeds) from moo.json and the store.

Writes benchmarks/results/moo.md, moo.json, and front plots in benchmarks/results/moo/.

    .venv/bin/python benchmarks/bench_moo.py [--quick] [--no-speed] [--resamples B]
    .venv/bin/python benchmarks/bench_moo.py --seeds 1 --keep-stored --no-speed  # and 2, ...
    .venv/bin/python benchmarks/bench_moo.py --render
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pymoo
from matplotlib.figure import Figure
from numpy.typing import NDArray

from paretorec.data.datasets import BuiltinDataset, load_builtin
from paretorec.moo import (
    Direction,
    NoFeasiblePointError,
    RankingProblem,
    TradeoffResult,
    dpp_rerank,
    dpp_rerank_naive,
    pareto_front,
    resolve_objectives,
)
from paretorec.moo.diversify import mmr_rerank
from paretorec.moo.hypervolume import hypervolume
from paretorec.moo.pipeline import MethodSettings, ParetoMethod, run_method
from paretorec.moo.problem import ListEvaluator, RankingRequest
from paretorec.moo.scalarize import Scalarization, scalarize
from paretorec.moo.simulated import problem_from_simulator
from paretorec.moo.sources import SourceConfig, problem_from_dataset
from paretorec.moo.tradeoff import make_result
from paretorec.simulate import WorldConfig, generate_world
from significance import SIG, yes_no
from spread import mean_sd_text, t_interval_verdict

RESULTS = Path(__file__).resolve().parent / "results"
SEED_STORE = Path(__file__).resolve().parent / ".work" / "moo"  # seed-N.json: one seed's report
OBJECTIVES = "ndcg,revenue,diversity"
NDCG_FRACTION = 0.97
CHEBYSHEV_RHO = 1e-3  # scalarization_grid's default augmentation
NSGA2_POP = 20
GRID_AT = (30, 100, 400, 1000)  # budgets at which the weighted-sum grid is the reference
BASELINE = ParetoMethod.WEIGHTED_SUM.value  # the method every other one is compared with
N_RESAMPLES = 1000  # paired bootstrap resamples of the held-out requests
ALPHA = 0.05
DELTA = "Δ HV held out vs weighted-sum [95% CI]"
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Each problem's title says which quantities are synthetic.
TITLES = {
    "simulator": "simulator (synthetic shop: NDCG, revenue and diversity all simulated)",
    "homedepot": "Home Depot search (real queries and judgments; revenue synthetic: simulator-filled prices)",
    "amazon-games": "Amazon Games recommendation (real sequences; revenue synthetic: simulator-filled prices)",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ disjoint halves


@dataclass(frozen=True, eq=False)
class SubsetEvaluator:
    """The parent evaluator on a subset of its requests: the others get a fixed list
    (their values are computed and dropped; each request's values depend on its own list
    only, for both the context and the simulator evaluators)."""

    parent: ListEvaluator
    rows: IntArray
    n_parent: int
    k: int

    def __call__(self, rankings: Sequence[IntArray]) -> FloatArray:
        if len(rankings) != self.rows.size:
            raise ValueError(f"got {len(rankings)} lists for {self.rows.size} requests")
        full: list[IntArray] = [np.arange(self.k, dtype=np.int64)] * self.n_parent
        for row, ranking in zip(self.rows.tolist(), rankings, strict=True):
            full[row] = ranking
        out: FloatArray = np.asarray(self.parent(full), dtype=np.float64)[self.rows]
        return out


def split_problem(problem: RankingProblem, seed: int) -> tuple[RankingProblem, RankingProblem]:
    """Two disjoint halves of the requests, drawn at random: (tune, test)."""
    n = len(problem.requests)
    if n < 4:
        raise ValueError(f"{problem.name}: {n} requests are too few to split")
    order = np.random.default_rng(seed).permutation(n)
    halves = (np.sort(order[: n // 2]), np.sort(order[n // 2 :]))
    return tuple(  # type: ignore[return-value]
        RankingProblem(
            problem.objectives,
            tuple(problem.requests[i] for i in rows.tolist()),
            problem.k,
            SubsetEvaluator(problem.evaluator, rows.astype(np.int64), n, problem.k),
            name=f"{problem.name}-{part}",
        )
        for rows, part in zip(halves, ("tune", "test"), strict=True)
    )


def problems(quick: bool) -> list[tuple[str, RankingProblem, str]]:
    objectives = resolve_objectives(OBJECTIVES)
    n_requests = 80 if quick else 400
    out = []
    start = time.perf_counter()
    world = generate_world(
        2_000 if quick else 20_000, 200 if quick else 2_000, config=WorldConfig.lively(), seed=0
    )
    sim = problem_from_simulator(world, objectives, n_sessions=200 if quick else 1200, k=10, seed=1)
    out.append(
        ("simulator", sim, f"{len(sim.requests)} search sessions, 50 candidates, exact values")
    )
    log(f"simulator: {len(sim.requests)} sessions ({time.perf_counter() - start:.1f} s)")
    config = SourceConfig(n_requests=n_requests, n_candidates=100, k=10, seed=0)
    for name, label in (
        (BuiltinDataset.HOMEDEPOT, "homedepot"),
        (BuiltinDataset.AMAZON_GAMES, "amazon-games"),
    ):
        start = time.perf_counter()
        problem, summary = problem_from_dataset(load_builtin(name), objectives, config=config)
        note = (
            f"{summary.n_kept} of {summary.n_tried} sampled {'queries' if summary.task == 'search' else 'users'} "
            f"kept (a relevant candidate among {summary.candidate_source})"
        )
        out.append((label, problem, note))
        log(f"{label}: {note} ({time.perf_counter() - start:.1f} s)")
    return out


# ------------------------------------------------------------------ re-evaluation


def _relevance(signals: FloatArray, columns: list[int], weights: FloatArray) -> FloatArray:
    """rerank_front's fused relevance: the item-level signals' weighted sum, min-max scaled."""
    fused = signals[:, columns] @ weights
    span = float(fused.max() - fused.min())
    out: FloatArray = (fused - fused.min()) / span if span > 0 else np.zeros_like(fused)
    return out


def _linear(w: FloatArray) -> Callable[[RankingRequest], FloatArray]:
    def score(request: RankingRequest) -> FloatArray:
        out: FloatArray = request.signals @ w
        return out

    return score


def _chebyshev(w: FloatArray) -> Callable[[RankingRequest], FloatArray]:
    def score(request: RankingRequest) -> FloatArray:
        return scalarize(request.signals, w, Scalarization.CHEBYSHEV, rho=CHEBYSHEV_RHO)

    return score


def reevaluate(result: TradeoffResult, problem: RankingProblem) -> tuple[FloatArray, FloatArray]:
    """The objective vector each of `result`'s weightings reaches on `problem`, applied
    unchanged (weights, PE-LTR's scorer, the re-rankers' strength): the means (n, m), as
    `problem.evaluate` gives them, and the per-request values (n, n_requests, m) they
    average (kept for the bootstrap over the requests)."""
    m = problem.n_objectives
    method = ParetoMethod(result.method)
    out = np.empty((result.n_evaluations, m))
    per_request = np.empty((result.n_evaluations, len(problem.requests), m))
    item_level = [j for j, s in enumerate(problem.set_level) if not s]
    for i, params in enumerate(result.parameters):
        w = params[:m]
        if method is ParetoMethod.CHEBYSHEV:
            rankings = problem.rank_by(_chebyshev(w))
        elif method in (ParetoMethod.MMR, ParetoMethod.DPP):
            strength = float(params[m])
            rankings = []
            for r in problem.requests:
                assert r.embeddings is not None
                rel = _relevance(r.signals, item_level, w[item_level])
                rerank = mmr_rerank if method is ParetoMethod.MMR else dpp_rerank
                key = "trade_off" if method is ParetoMethod.MMR else "theta"
                rankings.append(rerank(rel, r.embeddings, problem.k, **{key: strength}))
        else:  # weighted sum, ε-constraint, NSGA-II, PE-LTR: a linear score of the signals
            rankings = problem.rank_by(_linear(w))
        # what problem.evaluate does, keeping the rows it averages
        per_request[i] = np.asarray(problem.evaluator(rankings), dtype=np.float64)
        out[i] = per_request[i].mean(axis=0)
    return out, per_request


def on(result: TradeoffResult, values: FloatArray) -> TradeoffResult:
    """`result`'s weightings with other objective values (front and HV recomputed)."""
    return make_result(
        result.method,
        result.objectives,
        result.directions,
        result.parameter_names,
        result.parameters,
        values,
        reference=result.reference,
    )


def first(result: TradeoffResult, b: int) -> TradeoffResult:
    """`result`'s first `b` weightings alone (front and HV recomputed)."""
    return make_result(
        result.method,
        result.objectives,
        result.directions,
        result.parameter_names,
        result.parameters[:b],
        result.values[:b],
        reference=result.reference,
    )


# ------------------------------------------------------------------ paired bootstrap


@dataclass(frozen=True)
class HvDifference:
    """HV(method) - HV(baseline) on the held-out requests, with its paired percentile
    bootstrap interval."""

    difference: float  # on all the held-out requests: the tables' HV difference
    lower: float
    upper: float
    hv: float
    hv_baseline: float
    n_requests: int
    n_resamples: int
    alpha: float

    @property
    def significant(self) -> bool:
        """Whether the (1 - alpha) interval excludes 0."""
        return self.lower > 0 or self.upper < 0

    def interval_text(self, digits: int = 4) -> str:
        return f"{self.difference:+.{digits}f} [{self.lower:+.{digits}f}, {self.upper:+.{digits}f}]"

    def as_dict(self) -> dict[str, float | int | bool]:
        return {
            "difference": self.difference,
            "lower": self.lower,
            "upper": self.upper,
            "hv": self.hv,
            "hv_baseline": self.hv_baseline,
            "n_requests": self.n_requests,
            "n_resamples": self.n_resamples,
            "alpha": self.alpha,
            "significant": self.significant,
        }


def draw_resamples(n_requests: int, n_resamples: int, seed: int) -> IntArray:
    """(n_resamples, n_requests) request indices drawn with replacement, seeded."""
    if n_requests < 2 or n_resamples < 1:
        raise ValueError(f"need >= 2 requests and >= 1 resample, got {n_requests}, {n_resamples}")
    out: IntArray = np.random.default_rng(seed).integers(
        0, n_requests, size=(n_resamples, n_requests), dtype=np.int64
    )
    return out


def resampled_hv(
    per_request: FloatArray,
    resamples: IntArray,
    reference: FloatArray,
    directions: Sequence[Direction],
) -> FloatArray:
    """The HV (as `make_result` computes it) of the points whose objective vectors are the
    means of `per_request` (n_points, n_requests, m) over each row of request indices in
    `resamples` (n_resamples, n_requests): one HV per resample. The identity row
    `arange(n_requests)` gives back the HV of the plain means."""
    out = np.empty(resamples.shape[0])
    for b, rows in enumerate(resamples):
        means = per_request[:, rows, :].mean(axis=1)
        out[b] = hypervolume(means, reference, directions).value
    return out


def paired_hv_bootstrap(
    per_request: Mapping[str, FloatArray],
    baseline: str,
    reference: FloatArray,
    directions: Sequence[Direction],
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
    alpha: float = ALPHA,
) -> dict[str, HvDifference]:
    """Each method's HV minus `baseline`'s on the same requests, with a paired bootstrap
    interval over the requests.

    `per_request` maps each method to its points' per-request objective values
    (n_points, n_requests, m), the same requests in the same order for every method. One
    set of `n_resamples` resamples of the requests (drawn with `seed`) serves every
    method, so each replicate is the difference of two HVs on the same requests; the
    interval is the (alpha/2, 1 - alpha/2) percentile of the replicates, and the point
    estimate the difference on all the requests. Every method but `baseline` is returned.
    """
    if baseline not in per_request:
        raise ValueError(f"baseline {baseline!r} is not among {sorted(per_request)}")
    shapes = {v.shape[1:] for v in per_request.values()}
    if len(shapes) != 1:
        raise ValueError(f"methods differ in (n_requests, m): {sorted(shapes)}")
    n = next(iter(per_request.values())).shape[1]
    resamples = draw_resamples(n, n_resamples, seed)
    identity = np.arange(n, dtype=np.int64)[None, :]

    def hv(values: FloatArray, rows: IntArray) -> FloatArray:
        return resampled_hv(values, rows, reference, directions)

    base_full = float(hv(per_request[baseline], identity)[0])
    base = hv(per_request[baseline], resamples)
    out = {}
    for name, values in per_request.items():
        if name == baseline:
            continue
        full = float(hv(values, identity)[0])
        replicates = hv(values, resamples) - base
        lower, upper = np.percentile(replicates, [100 * alpha / 2, 100 * (1 - alpha / 2)])
        out[name] = HvDifference(
            difference=full - base_full,
            lower=float(lower),
            upper=float(upper),
            hv=full,
            hv_baseline=base_full,
            n_requests=n,
            n_resamples=n_resamples,
            alpha=alpha,
        )
    return out


# ------------------------------------------------------------------ the runs

METHODS = (
    ParetoMethod.WEIGHTED_SUM,
    ParetoMethod.CHEBYSHEV,
    ParetoMethod.PE_LTR,
    ParetoMethod.NSGA2,
    ParetoMethod.MMR,
    ParetoMethod.DPP,
    ParetoMethod.EPSILON_CONSTRAINT,
)


@dataclass(frozen=True, eq=False)
class Run:
    name: str
    tune: TradeoffResult
    test: TradeoffResult
    test_requests: FloatArray  # (n_points, n_test_requests, m): what test.values average
    seconds: float


def settings_for(method: ParetoMethod, budget: int, seed: int) -> MethodSettings:
    return MethodSettings(
        budget=min(budget, 12) if method is ParetoMethod.EPSILON_CONSTRAINT else budget,
        seed=seed,
        target="expected_revenue",
        at_least={"ndcg": NDCG_FRACTION},
        pop_size=NSGA2_POP if method is ParetoMethod.NSGA2 else 10,
    )


def run_problem(
    tune: RankingProblem,
    test: RankingProblem,
    budget: int,
    nsga2_budget: int,
    seed: int,
    *,
    check: bool = False,
) -> list[Run]:
    runs: list[Run] = []
    jobs = [(m, budget, m.value) for m in METHODS]
    jobs.append((ParetoMethod.NSGA2, nsga2_budget, f"nsga2 ({nsga2_budget} evaluations)"))
    for method, b, name in jobs:
        start = time.perf_counter()
        settings = settings_for(method, b, seed)
        if method is ParetoMethod.NSGA2 and b == budget:
            settings = MethodSettings(budget=b, seed=seed, pop_size=10)  # as before: 3 generations
        result = run_method(tune, method, settings=settings)
        seconds = time.perf_counter() - start
        if check:  # re-evaluation on the tuning half must give back the method's own values
            again, _ = reevaluate(result, tune)
            if not np.allclose(again, result.values, atol=1e-9):
                raise AssertionError(f"{name}: re-evaluation differs from the method's values")
        values, per_request = reevaluate(result, test)
        held = on(result, values)
        runs.append(Run(name, result, held, per_request, seconds))
        log(
            f"  {name}: {result.n_evaluations} evaluations, HV tune {result.hypervolume.value:.4f}, "
            f"test {held.hypervolume.value:.4f}, {seconds:.1f} s"
        )
    return runs


def convergence(runs: list[Run], checkpoints: Sequence[int]) -> list[dict[str, Any]]:
    """HV of the long NSGA-II run's points within the first b evaluations, on both halves
    (a prefix of one seeded ask/tell run is the run with budget b, up to its last
    generation's cut), beside the weighted-sum grid's."""
    long = next(r for r in runs if r.name.startswith("nsga2 ("))
    rows = []
    for b in checkpoints:
        if b > long.tune.n_evaluations:
            break
        tune, test = first(long.tune, b), first(long.test, b)
        rows.append(
            {
                "evaluations": b,
                "generations": b / NSGA2_POP,
                "hv_tune": tune.hypervolume.value,
                "hv_test": test.hypervolume.value,
                "front_tune": len(tune.front),
            }
        )
    return rows


def grid_at(
    tune: RankingProblem, test: RankingProblem, budgets: Sequence[int]
) -> tuple[dict[int, dict[str, float]], dict[int, FloatArray]]:
    """The weighted-sum grid's HV at each budget, on both halves (the reference line), and
    its points' per-request held-out values at each budget."""
    out = {}
    per_request = {}
    for b in budgets:
        result = run_method(tune, ParetoMethod.WEIGHTED_SUM, settings=MethodSettings(budget=b))
        values, per_request[b] = reevaluate(result, test)
        held = on(result, values)
        out[b] = {
            "grid_points": result.n_evaluations,
            "hv_tune": result.hypervolume.value,
            "hv_test": held.hypervolume.value,
        }
    return out, per_request


def compare(
    runs: list[Run],
    grid_requests: Mapping[int, FloatArray],
    grid_hv: Mapping[int, float],
    nsga2_budget: int,
    n_resamples: int,
    seed: int,
) -> tuple[dict[str, HvDifference], HvDifference | None]:
    """Each method against the weighted-sum grid, and the long NSGA-II run against the grid
    at its budget (None without one), paired over the same resamples of the held-out
    requests; checks that the bootstrap's HV on all the requests is the tables' HV."""
    reference, directions = runs[0].test.reference, runs[0].test.directions
    against = paired_hv_bootstrap(
        {r.name: r.test_requests for r in runs},
        BASELINE,
        reference,
        directions,
        n_resamples=n_resamples,
        seed=seed,
    )
    for run in runs:
        if run.name != BASELINE and against[run.name].hv != run.test.hypervolume.value:
            raise AssertionError(f"{run.name}: the bootstrap's HV is not the table's")
    long = next(r for r in runs if r.name.startswith("nsga2 ("))
    if nsga2_budget not in grid_requests:
        return against, None
    grid = "weighted-sum grid"
    long_vs_grid = paired_hv_bootstrap(
        {long.name: long.test_requests, grid: grid_requests[nsga2_budget]},
        grid,
        reference,
        directions,
        n_resamples=n_resamples,
        seed=seed,
    )[long.name]
    if long_vs_grid.hv_baseline != grid_hv[nsga2_budget]:
        raise AssertionError("the bootstrap's grid HV is not the convergence table's")
    return against, long_vs_grid


def chosen(result: TradeoffResult, best_ndcg: float) -> int | None:
    """The row with the most revenue among those with NDCG ≥ 97% of `best_ndcg`."""
    try:
        selection = result.best_at(
            "expected_revenue", {"ndcg": NDCG_FRACTION}, best={"ndcg": best_ndcg}
        )
    except NoFeasiblePointError:
        return None
    hits = np.flatnonzero(np.all(result.values == selection.point, axis=1))
    return int(hits[0])


def summarize(runs: list[Run], against: Mapping[str, HvDifference]) -> list[dict[str, Any]]:
    best_tune = max(float(r.tune.values[:, 0].max()) for r in runs)
    best_test = max(float(r.test.values[:, 0].max()) for r in runs)
    rows = []
    for run in runs:
        i = chosen(run.tune, best_tune)
        row: dict[str, Any] = {
            "method": run.name,
            "evaluations": run.tune.n_evaluations,
            "hv_tune": run.tune.hypervolume.value,
            "hv_test": run.test.hypervolume.value,
            "front_test": len(run.test.front),
            "front_2d_test": len(pareto_front(run.test.values[:, :2], "maximize")),
            "best_ndcg_test": float(run.test.values[:, 0].max()),
            "chosen_revenue_tune": None if i is None else float(run.tune.values[i, 1]),
            "chosen_revenue_test": None if i is None else float(run.test.values[i, 1]),
            "chosen_ndcg_test": None if i is None else float(run.test.values[i, 0]),
            "chosen_ndcg_share_test": None
            if i is None
            else float(run.test.values[i, 0]) / best_test,
            "chosen_diversity_test": None if i is None else float(run.test.values[i, 2]),
            "seconds": run.seconds,
            "hv_test_vs_baseline": against[run.name].as_dict() if run.name in against else None,
        }
        rows.append(row)
    return rows


def plot(name: str, runs: list[Run], folder: Path) -> Path:
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    axes = fig.subplots(1, 2)
    colours = (
        "tab:blue",
        "tab:orange",
        "tab:green",
        "tab:red",
        "tab:purple",
        "tab:brown",
        "tab:gray",
        "tab:olive",
    )
    for run, colour in zip(runs, colours, strict=False):
        result = run.test
        front = result.front_values
        for ax, (x, y) in zip(axes, ((0, 1), (0, 2)), strict=True):
            ax.scatter(result.values[:, x], result.values[:, y], s=8, alpha=0.3, color=colour)
            ax.scatter(front[:, x], front[:, y], s=24, color=colour, label=run.name)
    synthetic = "" if name == "simulator" else " (synthetic)"
    for ax, label in zip(
        axes, (f"expected revenue{synthetic} ↑", "embedding diversity ↑"), strict=True
    ):
        ax.set_xlabel("NDCG ↑")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{TITLES[name]}\nheld-out half: every weighting tuned on the other half")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=100)
    return path


def plot_convergence(report: dict[str, Any], folder: Path) -> Path:
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    axes = fig.subplots(1, len(report["problems"]))
    for ax, problem in zip(np.atleast_1d(axes), report["problems"], strict=True):
        rows = problem["convergence"]
        x = [r["evaluations"] for r in rows]
        ax.plot(x, [r["hv_tune"] for r in rows], "o-", label="NSGA-II, tuning half")
        ax.plot(x, [r["hv_test"] for r in rows], "s--", label="NSGA-II, held-out half")
        grid = problem["grid_at"]
        gx = sorted(int(b) for b in grid)
        ax.plot(
            gx, [grid[str(b)]["hv_test"] for b in gx], "^:", label="weighted-sum grid, held out"
        )
        ax.set_xscale("log")
        ax.set_xlabel("evaluations (budget)")
        ax.set_ylabel("hypervolume")
        ax.set_title(problem["name"], fontsize=9)
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "nsga2_convergence.png"
    fig.savefig(path, dpi=100)
    return path


def dpp_speed(quick: bool) -> list[dict[str, Any]]:
    rows = []
    cases = [(100, 64, 10)] if quick else [(100, 64, 10), (300, 64, 20)]
    for n, d, k in cases:
        rng = np.random.default_rng(n)
        relevance, embeddings = rng.random(n), rng.normal(size=(n, d))

        def median(
            fn: Any,
            repeats: int,
            relevance: np.ndarray = relevance,
            embeddings: np.ndarray = embeddings,
            k: int = k,
        ) -> tuple[float, list[int]]:
            times, out = [], []
            for _ in range(repeats):
                start = time.perf_counter()
                out = fn(relevance, embeddings, k, theta=0.7).tolist()
                times.append(time.perf_counter() - start)
            return statistics.median(times), out

        fast_s, fast = median(dpp_rerank, 21)
        naive_s, naive = median(dpp_rerank_naive, 3)
        rows.append(
            {
                "n": n,
                "d": d,
                "k": k,
                "fast_ms": 1e3 * fast_s,
                "naive_ms": 1e3 * naive_s,
                "speedup": naive_s / fast_s,
                "same_list": fast == naive,
            }
        )
        log(f"  DPP n={n} k={k}: fast {1e3 * fast_s:.2f} ms, naive {1e3 * naive_s:.1f} ms")
    return rows


# ------------------------------------------------------------------ the report


def fmt(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def interval_cells(diff: Mapping[str, Any] | None) -> tuple[str, str]:
    """The "Δ HV [95% CI]" and "sig. at 95%" cells of a stored `HvDifference.as_dict()`
    (None: the baseline itself)."""
    if diff is None:
        return "(baseline)", ""
    text = f"{diff['difference']:+.4f} [{diff['lower']:+.4f}, {diff['upper']:+.4f}]"
    return text, yes_no(bool(diff["significant"]))


def bootstrap_note(report: dict[str, Any]) -> str:
    boot = report.get("bootstrap")
    if boot is None:
        return ""
    return (
        f" *{DELTA}*: the method's held-out HV minus the weighted-sum grid's, with the "
        f"{100 * boot['alpha'] / 2:g}/{100 * (1 - boot['alpha'] / 2):g} percentiles of that "
        f"difference over a paired bootstrap of the held-out requests (B = {boot['n_resamples']} "
        f"resamples drawn with replacement, seed {boot['seed']}; the same resamples for every "
        "method of a problem; on each, every point's mean objective vector and the HV are "
        f"recomputed); *{SIG}*: the interval excludes 0. The weightings stay those tuned on "
        "the first half, so the interval covers which requests were held out, not the split "
        "or the tuning's own randomness."
    )


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "## Multi-objective ranking out of sample: scalarizations, PE-LTR, NSGA-II, MMR and DPP (revenue synthetic on the real data)",
        "",
        f"Machine: {report['machine']}. Command: `{report['command']}` ({report['wall_s']:.0f} s in all).",
        "",
        "Objectives: NDCG, expected revenue, embedding diversity (each in [0, 1], maximized); "
        "lists of 10. **Out of sample**: each problem's requests are split at random (seed "
        f"{report['seed']}) into two disjoint halves; every method is tuned on the first (PE-LTR "
        "trains on it; the grids, NSGA-II, the re-rankers and the ε-constraint search evaluate "
        "their weightings on it; the operating point is chosen on it) and every weighting it "
        "found is re-evaluated unchanged on the second, where the figures below are measured. "
        f"Every method gets the same budget of {report['budget']} evaluated weightings on the "
        "tuning half (the grids and PE-LTR hold the 28 points of the largest Das-Dennis lattice "
        "within it; the ε-constraint search stops at 12; *nsga2* is pymoo's NSGA-II with "
        f"population 10, 3 generations); *nsga2 ({report['nsga2_budget']} evaluations)* has "
        f"population {NSGA2_POP} and {report['nsga2_budget']} evaluations ({report['nsga2_budget'] // NSGA2_POP} generations; its front against the budget is in the convergence table below). "
        "Seconds are wall clock on 2 cores shared with other jobs. "
        "*HV*: hypervolume of all the points a method evaluated, reference (0, 0, 0) for every "
        "method, on the tuning half and on the held-out half. *chosen*: the point, picked on "
        "the tuning half, with the most revenue among those whose NDCG reaches 97% of the best "
        "NDCG any method reached there (— none does); its revenue on the tuning half, then its "
        "revenue, NDCG (and NDCG as a share of the best on the held-out half) and diversity on "
        "the held-out half. PE-LTR trains one linear scorer per bound vector (60 steps of 64 "
        "requests); its cost is in training, not in evaluations. The real data are seeded "
        f"samples of {report['n_requests']} requests (before the split); the simulator's "
        "search sessions are those kept from one batch. **Revenue on Home Depot and Amazon "
        "Games is synthetic**: neither dataset has prices, so the simulator's catalog adapter "
        "fills them in, and the relevance signal stands for the click probability; on the "
        "simulator every objective is simulated (exact expected values of a synthetic shop)."
        + bootstrap_note(report)
        + seeds_note(report),
        "",
    ]
    for problem in report["problems"]:
        name = problem["name"]
        revenue = "revenue" if name == "simulator" else "synthetic revenue"
        lines += [
            f"### {TITLES[name]}",
            "",
            problem["note"]
            + f"; {problem['n_tune']} requests to tune on, {problem['n_test']} held out.",
            "",
            f"| method | evaluations | HV tune | HV held out | {DELTA} | {SIG} | front held out "
            f"| front 2-D held out | best NDCG held out | chosen: {revenue} on tune "
            f"| {revenue} held out | NDCG held out | NDCG / best | diversity held out | seconds |",
            "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in problem["rows"]:
            delta, sig = (
                interval_cells(r["hv_test_vs_baseline"])
                if "hv_test_vs_baseline" in r
                else ("—", "")
            )
            lines.append(
                f"| {r['method']} | {r['evaluations']} | {r['hv_tune']:.4f} | {r['hv_test']:.4f} | "
                f"{delta} | {sig} | "
                f"{r['front_test']} | {r['front_2d_test']} | {r['best_ndcg_test']:.4f} | "
                f"{fmt(r['chosen_revenue_tune'])} | {fmt(r['chosen_revenue_test'])} | "
                f"{fmt(r['chosen_ndcg_test'])} | {fmt(r['chosen_ndcg_share_test'], 3)} | "
                f"{fmt(r['chosen_diversity_test'])} | {r['seconds']:.1f} |"
            )
        lines += ["", f"![{name}](moo/{name}.png)", ""]
        lines += seeds_section(report.get("over_seeds", {}).get("runs", []), name)
    lines += [
        f"### NSGA-II's front against its budget (population {NSGA2_POP}; revenue synthetic on the real data)",
        "",
        "Hypervolume of the points NSGA-II evaluated within the first *b* evaluations of one "
        f"seeded run of {report['nsga2_budget']}, on the tuning half it searched and re-evaluated "
        "on the held-out half, beside the weighted-sum grid (the largest Das-Dennis lattice "
        "within *b*, also tuned on the first half). Where the held-out HV stops rising, more "
        "budget no longer buys a better front.",
        "",
        "| problem | evaluations | generations | NSGA-II HV tune | NSGA-II HV held out | "
        "NSGA-II front (tune) | grid points | grid HV held out |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for problem in report["problems"]:
        grid = problem["grid_at"]
        for r in problem["convergence"]:
            g = grid.get(str(r["evaluations"]))
            lines.append(
                f"| {problem['name']} | {r['evaluations']} | {r['generations']:.1f} | "
                f"{r['hv_tune']:.4f} | {r['hv_test']:.4f} | {r['front_tune']} | "
                f"{g['grid_points'] if g else '—'} | {fmt(g['hv_test'] if g else None)} |"
            )
    lines += ["", "![NSGA-II convergence](moo/nsga2_convergence.png)", "", *reading(report), ""]
    lines += [
        "### Fast greedy DPP against the naive greedy",
        "",
        "Chen et al. (2018): incremental Cholesky updates against recomputing `log det` of every "
        "extension at every step; random relevance and Gaussian embeddings, θ = 0.7; medians of "
        "21 (fast) and 3 (naive) runs." + report["dpp_speed_note"],
        "",
        "| n | d | k | fast (ms) | naive (ms) | speed-up | same list |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report["dpp_speed"]:
        lines.append(
            f"| {r['n']} | {r['d']} | {r['k']} | {r['fast_ms']:.2f} | {r['naive_ms']:.1f} | "
            f"{r['speedup']:.0f}× | {'yes' if r['same_list'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def reading(report: dict[str, Any]) -> list[str]:
    """What the tables say, computed from their numbers."""
    out = ["Reading:", ""]
    for problem in report["problems"]:
        gaps = [r["hv_test"] - r["hv_tune"] for r in problem["rows"]]
        long = problem["convergence"][-1]
        grid = problem["grid_at"].get(str(long["evaluations"]))
        first = problem["convergence"][0]
        line = (
            f"- {problem['name']}: held-out HV minus tuning HV ranges from {min(gaps):+.4f} to "
            f"{max(gaps):+.4f} over the methods, so the fronts found on one half hold on the other. "
            f"NSGA-II's held-out HV goes from {first['hv_test']:.4f} at {first['evaluations']} "
            f"evaluations to {long['hv_test']:.4f} at {long['evaluations']}"
        )
        if len(problem["convergence"]) >= 3:
            before = problem["convergence"][-3]
            line += (
                f" ({long['hv_test'] - before['hv_test']:+.4f} over its last "
                f"{long['evaluations'] - before['evaluations']} evaluations)"
            )
        if grid:
            line += (
                f"; the weighted-sum grid of {grid['grid_points']} points reaches "
                f"{grid['hv_test']:.4f} at that budget"
            )
        diff = problem.get("nsga2_vs_grid")
        if grid and diff:
            text, sig = interval_cells(diff)
            line += (
                f" (NSGA-II minus the grid, held out, paired over the requests: {text}; "
                f"{SIG}: {sig})"
            )
        out.append(line + ".")
    return out


# ------------------------------------------------------------------ over split seeds

SEED_CHANGES = (
    "The seed draws the split of each problem's requests into the tuning and the held-out "
    "half, NSGA-II's run (initial population and variation) and PE-LTR's training (its "
    "mini-batches); the problems themselves (the simulated shop, the sampled queries and "
    "users, their candidates) and the bootstrap's seed stay the same, so the grids, "
    "MMR, DPP and the ε-constraint search change with the split alone."
)
SETTING = ("budget", "nsga2_budget", "n_requests")  # what the pooled seeds must share


def seed_summary(report: Mapping[str, Any]) -> dict[str, Any]:
    """What the seeds section keeps of one seed's report: per problem, each method's
    held-out HV, and the long NSGA-II run's and the weighted-sum grid's at its budget."""
    problems = []
    for problem in report["problems"]:
        long = next((r for r in problem["rows"] if r["method"].startswith("nsga2 (")), None)
        grid = problem["grid_at"].get(str(report["nsga2_budget"]))
        problems.append(
            {
                "name": problem["name"],
                "note": problem["note"],
                "n_tune": problem["n_tune"],
                "n_test": problem["n_test"],
                "hv_test": {r["method"]: r["hv_test"] for r in problem["rows"]},
                "nsga2_vs_grid": None
                if long is None or grid is None
                else {
                    "method": long["method"],
                    "hv_test": long["hv_test"],
                    "grid_points": grid["grid_points"],
                    "grid_hv_test": grid["hv_test"],
                },
            }
        )
    return {
        "seed": report["seed"],
        "command": report["command"],
        "wall_s": report["wall_s"],
        **{key: report[key] for key in SETTING},
        "problems": problems,
    }


def store_seed(report: Mapping[str, Any], store: Path) -> Path:
    """One seed's report into the per-seed store (`store`/seed-N.json)."""
    store.mkdir(parents=True, exist_ok=True)
    path = store / f"seed-{report['seed']}.json"
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")  # parallel seeds read it
    partial.write_text(json.dumps({k: v for k, v in report.items() if k != "over_seeds"}, indent=2))
    partial.replace(path)
    return path


def check_setting(main: Mapping[str, Any], summaries: Sequence[Mapping[str, Any]]) -> None:
    """Every pooled seed ran the main run's setting: sizes, budgets, problems, methods."""
    want = seed_summary(main)

    def shape(summary: Mapping[str, Any]) -> Any:
        return (
            [summary[key] for key in SETTING],
            [
                (p["name"], p["note"], p["n_tune"], p["n_test"], list(p["hv_test"]))
                for p in summary["problems"]
            ],
        )

    for summary in summaries:
        if shape(summary) != shape(want):
            raise ValueError(
                f"seed {summary['seed']} ran another setting than the main run (seed "
                f"{main['seed']}): {shape(summary)} != {shape(want)}; rerun it or remove "
                f"{SEED_STORE / ('seed-' + str(summary['seed']) + '.json')}"
            )


def collect(main: Mapping[str, Any], store: Path) -> dict[str, Any]:
    """`main` with "over_seeds": the summaries of every seed pooled with it, the main seed
    first, the others in order: those moo.json already holds, replaced by those in the
    store (a seed run since), and main's own. Main goes into the store when its seed is
    not there (the stored run of moo.json is so reused as its seed)."""
    summaries = {s["seed"]: s for s in main.get("over_seeds", {}).get("runs", [])}
    if not (store / f"seed-{main['seed']}.json").exists():
        store_seed(main, store)
    for path in sorted(store.glob("seed-*.json")):
        summary = seed_summary(json.loads(path.read_text()))
        summaries[summary["seed"]] = summary
    return pool(main, list(summaries.values()))


def pool(main: Mapping[str, Any], summaries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """`main` with "over_seeds" from the seeds' `summaries` (main's own summary replaces
    any of its seed), the main seed first, the others in order; none for a single seed."""
    by_seed = {s["seed"]: s for s in summaries}
    by_seed[main["seed"]] = seed_summary(main)
    check_setting(main, list(by_seed.values()))
    ordered = [by_seed[main["seed"]]]
    ordered += [by_seed[seed] for seed in sorted(by_seed) if seed != main["seed"]]
    out = {k: v for k, v in main.items() if k != "over_seeds"}
    if len(ordered) > 1:
        out["over_seeds"] = {"seeds": [s["seed"] for s in ordered], "runs": ordered}
    return out


def over_seeds(differences: Sequence[float]) -> tuple[str, str]:
    """Paired per-seed differences: their mean with its 95% t interval over the seeds, and
    whether that interval excludes 0."""
    text, significant = t_interval_verdict(differences)
    return text, yes_no(significant)


def seeds_note(report: Mapping[str, Any]) -> str:
    """The header's paragraph on the seeds (empty for a single seed)."""
    runs = report.get("over_seeds", {}).get("runs", [])
    if len(runs) < 2:
        return ""
    commands = "; ".join(f"seed {r['seed']}: `{r['command']}` ({r['wall_s']:.0f} s)" for r in runs)
    return (
        f" **Over split seeds**: the whole benchmark ran once per seed ({len(runs)} seeds; "
        f"{commands}). {SEED_CHANGES} Each problem's tables end with the held-out HV over the "
        "seeds (mean ± sample sd) and each method's difference to the weighted-sum grid paired "
        f"by seed, with its 95% Student t interval over the seeds ({len(runs) - 1} degrees of "
        "freedom): the interval that counts the split and the tuning's own randomness, which "
        "the bootstrap over the held-out requests does not. Everything but the seeds "
        f"sections (tables, convergence, reading) is seed {runs[0]['seed']}'s."
    )


def seeds_section(runs: Sequence[Mapping[str, Any]], name: str) -> list[str]:
    """Problem `name` over the seeds' summaries `runs` (the main seed first): nothing for
    a single seed."""
    if len(runs) < 2:
        return []
    n = len(runs)
    seeds = ", ".join(str(r["seed"]) for r in runs)
    problems = [next(p for p in r["problems"] if p["name"] == name) for r in runs]
    lines = [
        f"#### {name}: over split seeds ({n} seeds: {seeds})",
        "",
        f"| method | HV held out, mean ± sd | Δ HV vs weighted-sum, seeds {seeds} "
        f"| Δ HV vs weighted-sum, mean [95% t interval over seeds] | {SIG} "
        "| ahead of weighted-sum |",
        "|---|---:|---:|---:|---|---:|",
    ]
    above: list[str] = []
    below: list[str] = []
    for method in problems[0]["hv_test"]:
        hv = [p["hv_test"][method] for p in problems]
        if method == BASELINE:
            lines.append(f"| {method} | {mean_sd_text(hv)} | (baseline) | (baseline) | | |")
            continue
        diffs = [p["hv_test"][method] - p["hv_test"][BASELINE] for p in problems]
        text, sig = over_seeds(diffs)
        if sig == "yes":
            (above if float(np.mean(diffs)) > 0 else below).append(method)
        lines.append(
            f"| {method} | {mean_sd_text(hv)} | {', '.join(f'{d:+.4f}' for d in diffs)} | "
            f"{text} | {sig} | {sum(d > 0 for d in diffs)}/{n} |"
        )
    lines.append("")
    verdict = (
        f"Over the {n} seeds, significantly above the weighted-sum grid: "
        f"{', '.join(above) or 'none'}; significantly below: {', '.join(below) or 'none'}"
        + (
            "; every other method's interval holds 0."
            if len(above) + len(below) < len(problems[0]["hv_test"]) - 1  # less the baseline
            else "."
        )
    )
    pairs = [p["nsga2_vs_grid"] for p in problems]
    if all(pair is not None for pair in pairs):
        diffs = [pair["hv_test"] - pair["grid_hv_test"] for pair in pairs]
        text, sig = over_seeds(diffs)
        points = sorted({pair["grid_points"] for pair in pairs})
        verdict += (
            f" {pairs[0]['method']} minus the weighted-sum grid of "
            f"{'/'.join(str(p) for p in points)} points, held out, paired by seed: "
            f"{', '.join(f'{d:+.4f}' for d in diffs)}; mean {text} (95% t interval over "
            f"the seeds; {SIG}: {sig})."
        )
    return [*lines, verdict, ""]


def write_results(report: dict[str, Any]) -> None:
    text = markdown(report)
    print(text)
    (RESULTS / "moo.md").write_text(text)
    (RESULTS / "moo.json").write_text(json.dumps(report, indent=2))


def run_seed(
    seed: int, args: argparse.Namespace, nsga2_budget: int, figures: Path
) -> dict[str, Any]:
    """The whole benchmark with one seed (the split and the methods' own seeds): its
    report, without the DPP timing, the machine and the command; plots into `figures`."""
    started = time.perf_counter()
    checkpoints = [c for c in (30, 100, 200, 400, 600, 1000, 2000) if c <= nsga2_budget]
    report: dict[str, Any] = {
        "budget": args.budget,
        "nsga2_budget": nsga2_budget,
        "seed": seed,
        "n_requests": 80 if args.quick else 400,
        "bootstrap": {"n_resamples": args.resamples, "seed": args.bootstrap_seed, "alpha": ALPHA},
        "problems": [],
    }
    for name, problem, note in problems(args.quick):
        tune, test = split_problem(problem, seed)
        log(f"{name}, seed {seed}: {len(tune.requests)} to tune, {len(test.requests)} held out")
        runs = run_problem(tune, test, args.budget, nsga2_budget, seed, check=args.quick)
        plot(name, runs, figures)
        grid, grid_requests = grid_at(tune, test, [c for c in checkpoints if c in GRID_AT])
        start = time.perf_counter()
        against, long_vs_grid = compare(
            runs,
            grid_requests,
            {b: v["hv_test"] for b, v in grid.items()},
            nsga2_budget,
            args.resamples,
            args.bootstrap_seed,
        )
        log(f"  paired bootstrap, B = {args.resamples}: {time.perf_counter() - start:.1f} s")
        for method, diff in [*against.items(), ("nsga2 vs grid", long_vs_grid)]:
            if diff is not None:
                log(f"    {method}: {diff.interval_text()} ({SIG}: {yes_no(diff.significant)})")
        report["problems"].append(
            {
                "name": name,
                "note": note,
                "n_tune": len(tune.requests),
                "n_test": len(test.requests),
                "rows": summarize(runs, against),
                "convergence": convergence(runs, checkpoints),
                "grid_at": {str(b): v for b, v in grid.items()},
                "nsga2_vs_grid": None if long_vs_grid is None else long_vs_grid.as_dict(),
            }
        )
    plot_convergence(report, figures)
    report["wall_s"] = time.perf_counter() - started
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--nsga2-budget", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        help="run the whole benchmark once per seed (default: --seed alone); the first "
        "seed's report is the main tables, every seed's goes to the per-seed store",
    )
    parser.add_argument(
        "--keep-stored",
        action="store_true",
        help="keep the main report of results/moo.json (its seed's tables and plots): "
        "these seeds only join the seeds section (seeds may so run in separate processes)",
    )
    parser.add_argument(
        "--resamples", type=int, default=N_RESAMPLES, help="paired bootstrap resamples (B)"
    )
    parser.add_argument("--bootstrap-seed", type=int, default=0)
    parser.add_argument(
        "--no-speed",
        dest="speed",
        action="store_false",
        help="keep the stored DPP timing rows of results/moo.json (say so) instead of timing",
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="only rewrite moo.md (and moo.json's seeds) from moo.json and the per-seed store",
    )
    args = parser.parse_args()
    stored = RESULTS / "moo.json"
    if args.render:
        write_results(collect(json.loads(stored.read_text()), SEED_STORE))
        return
    seeds: list[int] = args.seeds if args.seeds is not None else [args.seed]
    if len(set(seeds)) != len(seeds):
        parser.error(f"--seeds repeats a seed: {seeds}")
    main_report = json.loads(stored.read_text()) if args.keep_stored else None
    if main_report is not None and main_report["seed"] in seeds:
        parser.error(f"--keep-stored: seed {main_report['seed']} is the stored main run")
    if args.quick and args.keep_stored:
        parser.error("--quick writes nothing: --keep-stored has nothing to join")
    nsga2_budget = 100 if args.quick else args.nsga2_budget
    if main_report is not None:  # refuse before hours of work, not after
        mine = {"budget": args.budget, "nsga2_budget": nsga2_budget, "n_requests": 400}
        theirs = {key: main_report.get(key) for key in SETTING}
        if mine != theirs:
            parser.error(
                f"--keep-stored: this run's setting {mine} is not the stored run's {theirs}"
            )
    dpp_started = time.perf_counter()
    if args.speed or not stored.exists():
        log("DPP speed:")
        dpp_rows, dpp_note = dpp_speed(args.quick), ""
    else:
        dpp_rows = json.loads(stored.read_text())["dpp_speed"]
        dpp_note = (
            " Not re-timed in this run (`--no-speed`, the CPU was shared with other jobs): "
            "these rows are the stored ones of the previous run."
        )
    machine = (
        f"{os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, pymoo {pymoo.__version__}"
    )
    command = "python benchmarks/bench_moo.py" + " ".join(["", *sys.argv[1:]])
    dpp_s = time.perf_counter() - dpp_started  # counted in the first seed's wall time
    reports = []
    for i, seed in enumerate(seeds):
        # only the main report's plots are kept: a smoke run and the other seeds leave the
        # stored plots alone
        keep_plots = i == 0 and main_report is None and not args.quick
        scratch = None if keep_plots else tempfile.TemporaryDirectory()
        figures = RESULTS / "moo" if scratch is None else Path(scratch.name)
        run = run_seed(seed, args, nsga2_budget, figures)
        if scratch is not None:
            scratch.cleanup()
        report = {k: v for k, v in run.items() if k != "wall_s"}
        report.update(
            dpp_speed=dpp_rows,
            dpp_speed_note=dpp_note,
            wall_s=run["wall_s"] + (dpp_s if i == 0 else 0.0),
            machine=machine,
            command=command,
        )
        if not args.quick:
            store_seed(report, SEED_STORE)
        log(f"seed {seed}: {report['wall_s']:.0f} s")
        reports.append(report)
    if args.quick:  # the seeds of this run alone
        print(markdown(pool(reports[0], [seed_summary(r) for r in reports])))
        return
    if main_report is None:
        main_report = reports[0]
    write_results(collect(main_report, SEED_STORE))


if __name__ == "__main__":
    main()
