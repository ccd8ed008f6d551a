"""NSGA-II (Deb et al., 2002) over fusion weights, with pymoo's implementation.

The decision variables are m non-negative numbers, turned into fusion weights by
scaling them to sum 1 (all zero: equal weights); a weighting ranks every request by the
weighted sum of its candidates' signals and is scored by the mean objective vector
(maximized objectives negated for pymoo, which minimizes).  pymoo's `NSGA2` (SBX
crossover, polynomial mutation, crowding-distance survival) runs through its ask/tell
interface so that exactly `budget` weightings are evaluated: the last generation is cut
to what is left.  Every evaluated weighting goes into the result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.problem import Problem

from paretorec.moo.grid import rank_weighted
from paretorec.moo.problem import RankingProblem
from paretorec.moo.scalarize import Scalarization
from paretorec.moo.tradeoff import TradeoffResult, make_result
from paretorec.types import Direction

__all__ = ["nsga2_front", "weights_from_genes"]

FloatArray = NDArray[np.float64]
Progress = Callable[[int], None]


def weights_from_genes(genes: FloatArray) -> FloatArray:
    """Rows of non-negative genes scaled to sum 1 (a zero row: equal weights)."""
    g = np.clip(np.asarray(genes, dtype=np.float64), 0.0, None)
    total = g.sum(axis=1, keepdims=True)
    equal = np.full_like(g, 1.0 / g.shape[1])
    out: FloatArray = np.where(total > 0, g / np.where(total > 0, total, 1.0), equal)
    return out


class _FusionProblem(Problem):  # type: ignore[misc]  # pymoo is untyped
    def __init__(self, problem: RankingProblem, on_progress: Progress | None) -> None:
        m = problem.n_objectives
        super().__init__(n_var=m, n_obj=m, xl=0.0, xu=1.0)
        self.ranking = problem
        self.on_progress = on_progress
        self.signs = np.array(
            [-1.0 if d is Direction.MAXIMIZE else 1.0 for d in problem.directions]
        )
        self.weights: list[FloatArray] = []
        self.values: list[FloatArray] = []

    def _evaluate(self, x: FloatArray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        rows = []
        for w in weights_from_genes(np.atleast_2d(x)):
            v = rank_weighted(self.ranking, w, Scalarization.WEIGHTED_SUM, rho=0.0)
            self.weights.append(w)
            self.values.append(v)
            rows.append(v * self.signs)
            if self.on_progress is not None:
                self.on_progress(1)
        out["F"] = np.asarray(rows)


def nsga2_front(
    problem: RankingProblem,
    *,
    budget: int,
    pop_size: int = 16,
    seed: int = 0,
    on_progress: Progress | None = None,
) -> TradeoffResult:
    """Run NSGA-II for exactly `budget` evaluations (at least one population)."""
    if isinstance(pop_size, bool) or not isinstance(pop_size, int) or pop_size < 2:
        raise ValueError(f"pop_size must be an integer >= 2, got {pop_size!r}")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < pop_size:
        raise ValueError(f"budget must be an integer >= pop_size ({pop_size}), got {budget!r}")
    fusion = _FusionProblem(problem, on_progress)
    algorithm = NSGA2(pop_size=pop_size)
    algorithm.setup(fusion, termination=("n_eval", budget), seed=seed, verbose=False)
    done = 0
    while algorithm.has_next() and done < budget:
        population = algorithm.ask()
        population = population[: budget - done]
        algorithm.evaluator.eval(fusion, population)
        done += len(population)
        algorithm.tell(infills=population)
    return make_result(
        "nsga2",
        problem.names,
        problem.directions,
        problem.names,
        np.asarray(fusion.weights),
        np.asarray(fusion.values),
    )
