"""A small synthetic ranking problem shared by the trade-off search tests."""

from __future__ import annotations

import numpy as np
import pytest

from paretorec.moo import ContextEvaluator, RankingProblem, RankingRequest, resolve_objectives
from paretorec.objectives import ListContext


def make_problem(*, n_requests: int = 12, n: int = 20, k: int = 5, seed: int = 0) -> RankingProblem:
    """NDCG, revenue and embedding diversity over random candidates: relevance grades,
    prices that favour other items than the grades do, random 6-D embeddings."""
    rng = np.random.default_rng(seed)
    objectives = resolve_objectives("ndcg,revenue,diversity")
    requests, contexts = [], []
    for q in range(n_requests):
        grades = rng.integers(0, 4, n).astype(np.float64)
        prices = rng.lognormal(3.0, 1.0, n)
        embeddings = rng.normal(size=(n, 6))
        click = 0.1 + 0.8 * grades / 3.0
        revenue = click * prices
        signals = np.stack([grades / 3.0, revenue / revenue.max(), rng.random(n)], axis=1)
        requests.append(RankingRequest(f"q{q}", signals, embeddings))
        contexts.append(
            ListContext(
                grades=grades,
                click_probs=click,
                purchase_probs=np.full(n, 0.5),
                prices=prices,
                embeddings=embeddings,
            )
        )
    return RankingProblem(
        objectives, tuple(requests), k, ContextEvaluator(objectives, tuple(contexts))
    )


@pytest.fixture(scope="module")
def problem() -> RankingProblem:
    return make_problem()
