"""Trade-off search end to end: a dataset, objectives and a method in, a report out.

`run_method` dispatches a `ParetoMethod` on a `RankingProblem`; `pareto_report` loads a
dataset folder (or a built-in dataset by name), builds its problem (`sources`), runs the
method within the evaluation budget and writes the front report (`front_report`): the
CLI's `paretorec pareto` is a thin wrapper around it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from paretorec.constraints import ShopConstraints
from paretorec.data.datasets import BuiltinDataset, load_builtin
from paretorec.data.validate import load_dataset
from paretorec.evaluate.front_report import (
    Choice,
    FrontAnalysis,
    ObjectiveSpec,
    analyse_front,
    write_front_report,
)
from paretorec.moo.filled import filled_columns, require_prices
from paretorec.moo.grid import epsilon_constraint_search, scalarization_grid
from paretorec.moo.nsga2 import nsga2_front
from paretorec.moo.pe_ltr import PeLtrConfig, pe_ltr_front
from paretorec.moo.problem import RankingProblem, resolve_objectives
from paretorec.moo.rerank_front import Reranker, rerank_front
from paretorec.moo.scalarize import Scalarization
from paretorec.moo.sources import ProblemSummary, SourceConfig, problem_from_dataset
from paretorec.moo.tradeoff import TradeoffResult
from paretorec.types import Dataset

__all__ = [
    "MethodSettings",
    "ParetoMethod",
    "ParetoRun",
    "load_data",
    "pareto_report",
    "run_method",
]

Progress = Callable[[int], None]


class ParetoMethod(StrEnum):
    WEIGHTED_SUM = "weighted-sum"
    CHEBYSHEV = "chebyshev"
    EPSILON_CONSTRAINT = "epsilon-constraint"
    PE_LTR = "pe-ltr"
    NSGA2 = "nsga2"
    MMR = "mmr"
    DPP = "dpp"

    @classmethod
    def parse(cls, text: str) -> ParetoMethod:
        try:
            return cls(text)
        except ValueError:
            known = ", ".join(m.value for m in cls)
            raise ValueError(f"unknown method {text!r}; known: {known}") from None


@dataclass(frozen=True)
class MethodSettings:
    """Everything a method may need beyond the problem: the evaluation `budget`, the
    `seed`, PE-LTR's training, NSGA-II's population, and the ε-constraint's `target`
    and `at_least` fractions of the best (also the report's constrained choice)."""

    budget: int = 30
    seed: int = 0
    pe_ltr: PeLtrConfig = field(default_factory=PeLtrConfig)
    pop_size: int = 10
    target: str | None = None
    at_least: Mapping[str, float] = field(default_factory=dict)


def run_method(
    problem: RankingProblem,
    method: ParetoMethod,
    *,
    settings: MethodSettings,
    on_progress: Progress | None = None,
) -> TradeoffResult:
    """Run one method on `problem` within `settings.budget` evaluations."""
    budget = settings.budget
    if method is ParetoMethod.WEIGHTED_SUM or method is ParetoMethod.CHEBYSHEV:
        how = Scalarization(method.value)
        return scalarization_grid(
            problem, scalarization=how, budget=budget, on_progress=on_progress
        )
    if method is ParetoMethod.EPSILON_CONSTRAINT:
        if settings.target is None or not settings.at_least:
            raise ValueError("epsilon-constraint needs a target and at_least bounds")
        return epsilon_constraint_search(
            problem,
            target=settings.target,
            at_least=settings.at_least,
            budget=budget,
            on_progress=on_progress,
        )
    if method is ParetoMethod.PE_LTR:
        return pe_ltr_front(
            problem,
            budget=budget,
            config=settings.pe_ltr,
            seed=settings.seed,
            on_progress=on_progress,
        )
    if method is ParetoMethod.NSGA2:
        return nsga2_front(
            problem,
            budget=budget,
            pop_size=min(settings.pop_size, budget),
            seed=settings.seed,
            on_progress=on_progress,
        )
    return rerank_front(
        problem, reranker=Reranker(method.value), budget=budget, on_progress=on_progress
    )


def load_data(data: Path | str) -> Dataset:
    """A dataset folder in the data contract, or a built-in dataset's name."""
    path = Path(data)
    if path.is_dir():
        return load_dataset(path)
    names = [d.value for d in BuiltinDataset]
    if str(data) in names:
        return load_builtin(BuiltinDataset(str(data)))
    raise ValueError(f"{data}: not a dataset folder nor a built-in dataset ({', '.join(names)})")


@dataclass(frozen=True, eq=False)
class ParetoRun:
    """The method's result, the report's analysis, what the problem was, files written."""

    result: TradeoffResult
    analysis: FrontAnalysis
    summary: ProblemSummary
    written: tuple[Path, ...]


def pareto_report(
    data: Path | str,
    objectives: str | Sequence[str],
    *,
    method: ParetoMethod,
    settings: MethodSettings,
    source: SourceConfig,
    out: Path,
    on_progress: Progress | None = None,
    constraints: ShopConstraints | None = None,
    simulated_prices: bool = False,
) -> ParetoRun:
    """Load, build the problem, run the method and write the report into `out`; with
    `constraints` (the shop's rules), every list is the one the service would show.

    Revenue or margin on a dataset without any price is refused (`MissingPricesError`)
    unless `simulated_prices`; every figure resting on filled-in data is named in the
    summary's notes and the report."""
    if constraints is not None and method in (ParetoMethod.MMR, ParetoMethod.DPP):
        raise ValueError(
            f"{method.value} builds its own lists item by item: the rules apply to the "
            "score-based methods (weighted-sum, chebyshev, epsilon-constraint, pe-ltr, nsga2)"
        )
    chosen = resolve_objectives(objectives)
    dataset = load_data(data)
    require_prices(
        filled_columns(dataset.items),
        [o.name for o in chosen],
        simulated_prices=simulated_prices,
    )
    problem, summary = problem_from_dataset(dataset, chosen, config=source, constraints=constraints)
    if settings.target is not None:
        names = [problem.names[problem.index(n)] for n in (settings.target, *settings.at_least)]
        settings = MethodSettings(
            budget=settings.budget,
            seed=settings.seed,
            pe_ltr=settings.pe_ltr,
            pop_size=settings.pop_size,
            target=names[0],
            at_least=dict(zip(names[1:], settings.at_least.values(), strict=True)),
        )
    result = run_method(problem, method, settings=settings, on_progress=on_progress)
    specs = [ObjectiveSpec(n, d) for n, d in zip(result.objectives, result.directions, strict=True)]
    constrained = settings.target is not None and bool(settings.at_least)
    analysis = analyse_front(
        result.table(),
        specs,
        choice=Choice.CONSTRAINED if constrained else Choice.KNEE,
        target=settings.target,
        min_fraction_of_best=dict(settings.at_least) if constrained else None,
        reference=tuple(result.reference.tolist()),
        seed=settings.seed,
    )
    written = write_front_report(analysis, out, notes=summary.notes)
    return ParetoRun(result, analysis, summary, tuple(written))
