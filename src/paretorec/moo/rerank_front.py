"""Fronts traced by post-hoc re-ranking: MMR or DPP over a fused relevance.

For each request the item-level objectives' signals are fused by a weighted sum (weights
over the simplex lattice of the item-level objectives), scaled to [0, 1] within the
request, and re-ranked by MMR (`trade_off`) or DPP (`theta`) on the candidates'
embeddings.  With q base weightings the budget leaves ``budget // q`` re-ranking
strengths, evenly spaced in [0, 1] (1: no diversification).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from paretorec.moo.diversify import dpp_rerank, mmr_rerank
from paretorec.moo.problem import RankingProblem, RankingRequest
from paretorec.moo.tradeoff import TradeoffResult, make_result
from paretorec.preference import simplex_lattice

__all__ = ["Reranker", "rerank_front"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Progress = Callable[[int], None]


class Reranker(StrEnum):
    MMR = "mmr"
    DPP = "dpp"


def _base_relevance(request: RankingRequest, columns: list[int], weights: FloatArray) -> FloatArray:
    fused = request.signals[:, columns] @ weights
    span = float(fused.max() - fused.min())
    out: FloatArray = (fused - fused.min()) / span if span > 0 else np.zeros_like(fused)
    return out


def rerank_front(
    problem: RankingProblem,
    *,
    reranker: Reranker,
    budget: int,
    on_progress: Progress | None = None,
) -> TradeoffResult:
    """Evaluate (base weighting × strength) pairs within `budget` (module docstring)."""
    problem.require_embeddings(f"{reranker.value} re-ranking")
    item_level = [j for j, s in enumerate(problem.set_level) if not s]
    if not item_level:
        raise ValueError("re-ranking needs at least one item-level objective to fuse")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 2:
        raise ValueError(f"budget must be an integer >= 2, got {budget!r}")
    n_bases = max(1, int(np.sqrt(budget))) if len(item_level) > 1 else 1
    bases = simplex_lattice(len(item_level), n_bases)
    strengths = np.linspace(0.0, 1.0, max(2, budget // len(bases)))
    m = problem.n_objectives
    params: list[FloatArray] = []
    values: list[FloatArray] = []
    for base in bases:
        relevance = [_base_relevance(r, item_level, base) for r in problem.requests]
        for strength in strengths:
            if len(values) >= budget:
                break
            rankings: list[IntArray] = []
            for r, rel in zip(problem.requests, relevance, strict=True):
                assert r.embeddings is not None
                if reranker is Reranker.MMR:
                    rankings.append(
                        mmr_rerank(rel, r.embeddings, problem.k, trade_off=float(strength))
                    )
                else:
                    rankings.append(dpp_rerank(rel, r.embeddings, problem.k, theta=float(strength)))
            weights = np.zeros(m)
            weights[item_level] = base
            params.append(np.concatenate([weights, [strength]]))
            values.append(problem.evaluate(rankings))
            if on_progress is not None:
                on_progress(1)
    names = (*problem.names, "trade_off" if reranker is Reranker.MMR else "theta")
    return make_result(
        reranker.value,
        problem.names,
        problem.directions,
        names,
        np.asarray(params),
        np.asarray(values),
    )
