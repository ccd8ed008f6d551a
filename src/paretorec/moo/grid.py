"""Scalarization sweeps: a weighted-sum or Chebyshev grid, and the ε-constraint search.

`scalarization_grid` ranks every request by a scalarization of its candidates' signals
for each weight vector of a simplex lattice (Das & Dennis, 1998, via pymoo's
`paretorec.preference.simplex_lattice`), with as many partitions as the evaluation budget allows,
and evaluates the lists.  `epsilon_constraint_search` finds the most of one objective
subject to lower bounds on others (``fraction × best``): it mixes the target's signal
with the constrained ones, ``w(a) = (1 - a) e_target + a u`` (u uniform over the
constrained objectives), and bisects on a for the least mixing that meets the bounds;
the best of each constrained objective is measured by ranking on its own signal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from numpy.typing import NDArray

from paretorec.moo.problem import RankingProblem, RankingRequest
from paretorec.moo.scalarize import Scalarization, epsilon_constraint, scalarize
from paretorec.moo.tradeoff import TradeoffResult, make_result
from paretorec.preference import simplex_lattice

__all__ = ["epsilon_constraint_search", "scalarization_grid"]

FloatArray = NDArray[np.float64]
Progress = Callable[[int], None]


def _check_budget(budget: int, least: int = 1) -> int:
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < least:
        raise ValueError(f"budget must be an integer >= {least}, got {budget!r}")
    return budget


def rank_weighted(
    problem: RankingProblem, weights: FloatArray, how: Scalarization, *, rho: float
) -> FloatArray:
    """The mean objective vector of ranking every request by the scalarized signals."""

    def score(request: RankingRequest) -> FloatArray:
        return scalarize(request.signals, weights, how, rho=rho)

    return problem.evaluate(problem.rank_by(score))


def scalarization_grid(
    problem: RankingProblem,
    *,
    scalarization: Scalarization,
    budget: int,
    rho: float = 1e-3,
    on_progress: Progress | None = None,
) -> TradeoffResult:
    """Evaluate the lattice of weightings that fits `budget` (see the module docstring);
    `rho` is the Chebyshev augmentation (unused by the weighted sum)."""
    lattice = simplex_lattice(problem.n_objectives, budget)
    values = np.empty((len(lattice), problem.n_objectives))
    for i, w in enumerate(lattice):
        values[i] = rank_weighted(problem, w, scalarization, rho=rho)
        if on_progress is not None:
            on_progress(1)
    return make_result(
        scalarization.value, problem.names, problem.directions, problem.names, lattice, values
    )


def epsilon_constraint_search(
    problem: RankingProblem,
    *,
    target: str,
    at_least: Mapping[str, float],
    budget: int,
    on_progress: Progress | None = None,
) -> TradeoffResult:
    """Bisection on the mix of the target's and the constrained objectives' signals (see
    the module docstring); every evaluated weighting is in the result, and
    ``result.best_at(target, at_least)`` is the ε-constraint solution."""
    m = problem.n_objectives
    t = problem.index(target)
    if not at_least:
        raise ValueError("the ε-constraint needs at least one lower bound (at_least)")
    bounds = {problem.index(name): float(f) for name, f in at_least.items()}
    if t in bounds:
        raise ValueError(f"objective {target!r} is the target; it cannot be bounded too")
    for j, f in bounds.items():
        if not 0 < f <= 1:
            raise ValueError(f"fraction for {problem.names[j]} must be in (0, 1], got {f}")
    _check_budget(budget, least=2 + max(0, len(bounds) - 1))
    u = np.zeros(m)
    u[list(bounds)] = 1.0 / len(bounds)
    e_t = np.zeros(m)
    e_t[t] = 1.0
    weights: list[FloatArray] = []
    values: list[FloatArray] = []

    def evaluate(w: FloatArray) -> FloatArray:
        weights.append(w)
        values.append(rank_weighted(problem, w, Scalarization.WEIGHTED_SUM, rho=0.0))
        if on_progress is not None:
            on_progress(1)
        return values[-1]

    def mix(a: float) -> FloatArray:
        return (1.0 - a) * e_t + a * u

    evaluate(mix(0.0))
    evaluate(mix(1.0))
    for j in bounds:
        if len(bounds) > 1:
            alone = np.zeros(m)
            alone[j] = 1.0
            evaluate(alone)

    def feasible(v: FloatArray) -> bool:
        lower = {j: f * float(np.max(np.asarray(values)[:, j])) for j, f in bounds.items()}
        score = epsilon_constraint(v[None, :], target=t, lower_bounds=lower)
        return bool(score[0] >= 0)

    lo, hi = 0.0, 1.0
    if not feasible(values[0]):
        while len(values) < budget:
            mid = 0.5 * (lo + hi)
            if feasible(evaluate(mix(mid))):
                hi = mid
            else:
                lo = mid
    return make_result(
        "epsilon-constraint",
        problem.names,
        problem.directions,
        problem.names,
        np.asarray(weights),
        np.asarray(values),
    )
