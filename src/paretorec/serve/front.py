"""The trade-off front of one request: what the served model's list brings at each point
of a simplex grid of weights, the knee and compromise among them, and constrained picks.

The candidates and their predictions are computed once; each grid point is one ranking
(`ServingPipeline.choose`). A list's value for an objective is what the served
predictions expect of it under position-based examination 1 / log2(1 + position):
``clicks`` the expected clicks (the ``click`` predictions), ``purchases`` and
``revenue`` likewise, and any other predicted objective (``relevance`` without a ranker)
its examination-weighted sum; list objectives are those of `paretorec.objectives`
(``diversity``: the share of pairs of listed items in different categories;
``exposure_fairness``: the normalized entropy of the sellers' shares of exposure).
Objectives no request can estimate (``novelty`` needs catalog-wide popularity) are left
out of the values and named in the notes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from paretorec.moo.pareto import Direction, pareto_front_mask
from paretorec.moo.selection import (
    NoFeasiblePointError,
    Threshold,
    select_compromise,
    select_constrained,
    select_knee,
)
from paretorec.objectives import CATEGORY_DIVERSITY, EXPOSURE_FAIRNESS, ListContext
from paretorec.objectives.kernels import position_discount
from paretorec.preference import Preference, simplex_grid
from paretorec.serve.pipeline import RecommendQuery, SearchQuery, ServingPipeline
from paretorec.stages import CandidateSet, Ranking

__all__ = ["FrontPoint", "RequestFront", "request_front"]

FloatArray = NDArray[np.float64]
_PREDICTED = {"clicks": "click", "purchases": "purchase", "revenue": "revenue"}
_LIST_OBJECTIVES = {"diversity": CATEGORY_DIVERSITY, "exposure_fairness": EXPOSURE_FAIRNESS}
MAX_POINTS = 200


@dataclass(frozen=True)
class FrontPoint:
    weights: dict[str, float]
    values: dict[str, float]
    item_ids: tuple[str, ...]
    seller_exposure: dict[str, float]
    dominated: bool


@dataclass(frozen=True)
class RequestFront:
    objectives: tuple[str, ...]  # the weights' names, in order
    measured: tuple[str, ...]  # the objectives each point has a value of
    points: tuple[FrontPoint, ...]
    knee: int | None
    compromise: int | None
    chosen: int | None  # the constrained pick, where one was asked for
    ordered_by: str
    notes: tuple[str, ...]


def _codes(values: Sequence[object]) -> NDArray[np.int64]:
    lookup: dict[str, int] = {}
    return np.asarray(
        [lookup.setdefault("" if v is None else str(v), len(lookup)) for v in values],
        dtype=np.int64,
    )


def _list_values(
    measured: Sequence[str],
    ranking: Ranking,
    predictions: Mapping[str, FloatArray],
    context: ListContext,
) -> dict[str, float]:
    order = ranking.order
    seen = position_discount(order.size)
    values = {}
    for name in measured:
        if name in _LIST_OBJECTIVES:
            values[name] = float(_LIST_OBJECTIVES[name](order, context)) if order.size > 1 else 0.0
        else:
            column = predictions[_PREDICTED.get(name, name)]
            values[name] = float(seen @ column[order])
    return values


def _exposure(ranking: Ranking, sellers: Sequence[object]) -> dict[str, float]:
    seen = position_discount(ranking.order.size)
    shares: dict[str, float] = {}
    for weight, index in zip(seen.tolist(), ranking.order.tolist(), strict=True):
        seller = "(none)" if sellers[index] is None else str(sellers[index])
        shares[seller] = shares.get(seller, 0.0) + weight / float(seen.sum())
    return shares


def request_front(
    pipeline: ServingPipeline,
    query: SearchQuery | RecommendQuery,
    *,
    divisions: int | None = None,
    weights: Mapping[str, float] | None = None,
    maximize: str | None = None,
    at_least: Mapping[str, float] | None = None,
) -> RequestFront:
    """The front of `query`'s lists over `simplex_grid(m, divisions)`, or the one point
    of `weights` (see the module docstring); `maximize` with `at_least` picks the best
    point meeting the bounds."""
    if (divisions is None) == (weights is None):
        raise ValueError("give either divisions (a grid of weights) or weights (one point)")
    context = (
        pipeline.search_context(query)
        if isinstance(query, SearchQuery)
        else pipeline.recommend_context(query)
    )
    with pipeline.lock.reading():
        candidates: CandidateSet
        if isinstance(query, SearchQuery):
            candidates = pipeline.search_candidates(context, query)
        else:
            candidates, _ = pipeline.recommend_candidates(query)
        scoring = pipeline.scoring(context, candidates)
        names = scoring.names
        grid = (
            simplex_grid(len(names), divisions)
            if divisions is not None
            else Preference.of(names, weights or {}).weights[None, :]
        )
        if grid.shape[0] > MAX_POINTS:
            raise ValueError(
                f"{grid.shape[0]} grid points for {len(names)} objectives at {divisions} "
                f"divisions: at most {MAX_POINTS}, ask for fewer divisions"
            )
        rows = candidates.rows
        seller_column = pipeline.store.column("seller_id")
        category_column = pipeline.store.column("category")
        sellers = [seller_column[r] for r in rows.tolist()]
        categories = [category_column[r] for r in rows.tolist()]
        rankings = [
            pipeline.choose(context, candidates, scoring, Preference(names, w), query.k)
            for w in grid
        ]
    if not len(candidates):
        raise LookupError("nothing found for this request: no list, so no front")
    measured = tuple(
        n for n in names if n in _LIST_OBJECTIVES or _PREDICTED.get(n, n) in scoring.predictions
    )
    notes = list(scoring.notes)
    if len(measured) < len(names):
        left = [n for n in names if n not in measured]
        notes.append(f"not estimated per request: {', '.join(left)}")
    list_context = ListContext(categories=_codes(categories), sellers=_codes(sellers))
    values = [_list_values(measured, r, scoring.predictions, list_context) for r in rankings]
    matrix = np.asarray([[v[n] for n in measured] for v in values], dtype=np.float64)
    directions = [Direction.MAXIMIZE] * len(measured)
    on_front = pareto_front_mask(matrix, directions) if measured else np.ones(len(values), bool)
    knee = compromise = chosen = None
    if measured and len(values) > 1:
        knee = select_knee(matrix, directions).index
        compromise = select_compromise(matrix, directions).index
    if maximize is not None:
        chosen = _constrained(matrix, measured, maximize, at_least or {})
    points = tuple(
        FrontPoint(
            weights=dict(zip(names, w.tolist(), strict=True)),
            values=v,
            item_ids=tuple(candidates.item_ids[i] for i in r.order.tolist()),
            seller_exposure=_exposure(r, sellers),
            dominated=not bool(on_front[n]),
        )
        for n, (w, v, r) in enumerate(zip(grid, values, rankings, strict=True))
    )
    return RequestFront(
        objectives=names,
        measured=measured,
        points=points,
        knee=knee,
        compromise=compromise,
        chosen=chosen,
        ordered_by=scoring.ordered_by,
        notes=tuple(notes),
    )


def _constrained(
    matrix: FloatArray, measured: Sequence[str], maximize: str, at_least: Mapping[str, float]
) -> int | None:
    """The point best in `maximize` among those meeting every lower bound (None: none)."""
    unknown = sorted({maximize, *at_least} - set(measured))
    if unknown:
        raise ValueError(
            f"cannot constrain {', '.join(map(repr, unknown))}: the front measures "
            f"{', '.join(measured)}"
        )
    if any(not math.isfinite(v) for v in at_least.values()):
        raise ValueError("the lower bounds must be finite numbers")
    thresholds = [
        Threshold(measured.index(name), bound)
        for name, bound in at_least.items()
        if name != maximize
    ]
    try:
        return select_constrained(
            matrix,
            [Direction.MAXIMIZE] * len(measured),
            objective=measured.index(maximize),
            thresholds=thresholds,
        ).index
    except NoFeasiblePointError:
        return None
