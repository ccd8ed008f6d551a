"""The one result type of every multi-objective method: weightings and their objectives.

A `TradeoffResult` holds the parameter vectors a method tried (fusion weights, PE-LTR's
learned weights and bounds, a re-ranker's trade-off), the objective vector each
reached, which of them form the Pareto front, and the front's hypervolume, all computed
with the shared Pareto tools.  Objectives live in [0, 1], so the hypervolume's default
reference point is the worst possible value of each (0 for a maximized objective, 1 for
a minimized one): the same for every method, so their hypervolumes compare.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray

from paretorec.moo.hypervolume import HypervolumeResult, hypervolume
from paretorec.moo.pareto import pareto_front
from paretorec.moo.selection import Selection, Threshold, select_constrained
from paretorec.types import Direction

__all__ = ["TradeoffResult", "make_result", "worst_reference"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


def worst_reference(directions: Sequence[Direction]) -> FloatArray:
    """0 for a maximized objective, 1 for a minimized one (objectives lie in [0, 1])."""
    return np.array([0.0 if d is Direction.MAXIMIZE else 1.0 for d in directions])


@dataclass(frozen=True, eq=False)
class TradeoffResult:
    """Row i: `parameters[i]` (named by `parameter_names`) reached `values[i]`."""

    method: str
    objectives: tuple[str, ...]
    directions: tuple[Direction, ...]
    parameter_names: tuple[str, ...]
    parameters: FloatArray  # (n, p)
    values: FloatArray  # (n, m)
    front: IntArray  # indices of the Pareto-optimal rows, ascending
    hypervolume: HypervolumeResult
    reference: FloatArray  # (m,)

    @property
    def n_evaluations(self) -> int:
        return int(self.values.shape[0])

    @property
    def front_values(self) -> FloatArray:
        out: FloatArray = self.values[self.front]
        return out

    def table(self, *, front_only: bool = False) -> pl.DataFrame:
        """One row per weighting: a ``w_<name>`` column per parameter, then the objectives
        (the shape `paretorec.evaluate.front_report.analyse_front` reads)."""
        rows = self.front if front_only else np.arange(self.n_evaluations)
        columns: dict[str, object] = {"method": [self.method] * len(rows)}
        for j, name in enumerate(self.parameter_names):
            columns[f"w_{name}"] = self.parameters[rows, j]
        for j, name in enumerate(self.objectives):
            columns[name] = self.values[rows, j]
        return pl.DataFrame(columns)

    def best_at(
        self,
        target: str,
        at_least: Mapping[str, float],
        *,
        best: Mapping[str, float] | None = None,
    ) -> Selection:
        """The best `target` among the rows whose objectives reach the given fractions of
        their best value, e.g. ``best_at("expected_revenue", {"ndcg": 0.97})``; the best
        is taken over this result's rows, or from `best` (say, the best over several
        methods).  Raises `NoFeasiblePointError` when no row qualifies."""
        column = {n: j for j, n in enumerate(self.objectives)}
        unknown = [n for n in (target, *at_least) if n not in column]
        if unknown:
            raise ValueError(
                f"unknown objective(s) {', '.join(unknown)}; known: {', '.join(self.objectives)}"
            )
        thresholds = [
            Threshold(column[n], fraction_of_best=f)
            if best is None or n not in best
            else Threshold(column[n], bound=f * best[n])
            for n, f in at_least.items()
        ]
        return select_constrained(
            self.values, self.directions, objective=column[target], thresholds=thresholds
        )


def make_result(
    method: str,
    objectives: Sequence[str],
    directions: Sequence[Direction],
    parameter_names: Sequence[str],
    parameters: ArrayLike,
    values: ArrayLike,
    *,
    reference: ArrayLike | None = None,
) -> TradeoffResult:
    """Check the arrays and compute the front and its hypervolume (exact up to 3
    objectives; see `hypervolume`)."""
    v = np.asarray(values, dtype=np.float64)
    p = np.asarray(parameters, dtype=np.float64)
    m = len(objectives)
    if v.ndim != 2 or v.shape[1] != m or v.shape[0] == 0:
        raise ValueError(f"values must be (n >= 1, {m}), got shape {v.shape}")
    if p.ndim != 2 or p.shape != (v.shape[0], len(parameter_names)):
        raise ValueError(
            f"parameters must be ({v.shape[0]}, {len(parameter_names)}), got shape {p.shape}"
        )
    dirs = tuple(Direction(d) for d in directions)
    ref = worst_reference(dirs) if reference is None else np.asarray(reference, dtype=np.float64)
    return TradeoffResult(
        method=method,
        objectives=tuple(objectives),
        directions=dirs,
        parameter_names=tuple(parameter_names),
        parameters=p,
        values=v,
        front=pareto_front(v, dirs),
        hypervolume=hypervolume(v, ref, dirs),
        reference=ref,
    )
