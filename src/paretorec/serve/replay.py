"""Replaying queries through a models folder, as the service would answer them, for the
audit (`paretorec audit --models`): the lists shown, each candidate's merit (its
retrieval relevance, as the exposure controller counts it), and what the served
predictions expect of each list (clicks, purchases, revenue under the position weights),
with nDCG@k where the queries have judgments. Run once without the shop's constraints
and once with them, the difference is the constraint's cost."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from paretorec.evaluate.audit import ServedLists
from paretorec.evaluate.fairness import attention
from paretorec.serve.constraints import ServingConstraints
from paretorec.serve.fallback import RELEVANCE, relevance_predictions
from paretorec.serve.pipeline import SearchQuery, ServingPipeline

__all__ = ["Replay", "replay_queries"]

EXPECTED = ("click", "purchase", "revenue")
START = datetime(2000, 1, 1, tzinfo=UTC)  # replayed requests are one second apart


@dataclass(frozen=True)
class Replay:
    served: ServedLists
    objectives: dict[str, float | None]  # per list, averaged over the requests


def _ndcg(items: Sequence[str], grades: Mapping[str, float], k: int) -> float:
    gains = np.array([grades.get(i, 0.0) for i in items[:k]])
    ideal = np.sort(np.array(list(grades.values())))[::-1][:k]
    best = float(np.sum((2**ideal - 1) * attention(ideal.size)))
    got = float(np.sum((2**gains - 1) * attention(gains.size)))
    return got / best if best > 0 else 0.0


def replay_queries(
    pipeline: ServingPipeline,
    queries: Sequence[tuple[str, str]],
    *,
    k: int,
    constraints: ServingConstraints | None,
    judgments: Mapping[str, Mapping[str, float]] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Replay:
    """Serve each (query id, text) once, with `constraints` (None: none), in order."""
    pipeline.constraints = constraints
    lists: list[tuple[str, ...]] = []
    times: list[datetime | None] = []
    merit: defaultdict[str, float] = defaultdict(float)
    outcomes: list[tuple[datetime | None, str, str, float]] = []
    totals: defaultdict[str, float] = defaultdict(float)
    seen: set[str] = set()
    ndcg: list[float] = []
    for n, (query_id, text) in enumerate(queries):
        when = START + timedelta(seconds=n)
        request = SearchQuery(text, k=k)
        context = pipeline.search_context(request)
        with pipeline.lock.reading():
            candidates = pipeline.search_candidates(context, request)
        relevance = relevance_predictions(candidates.scores)[RELEVANCE]
        for item, value in zip(candidates.item_ids, relevance.tolist(), strict=True):
            merit[item] += value
        listed = pipeline.search(request)
        items = tuple(item.item_id for item in listed.items)
        lists.append(items)
        times.append(when)
        for weight, shown in zip(attention(len(items)), listed.items, strict=True):
            for name in EXPECTED:
                if name in shown.predictions:
                    seen.add(name)
                    value = float(weight) * shown.predictions[name]
                    totals[name] += value
                    if name in ("click", "purchase"):
                        outcomes.append((when, shown.item_id, name, value))
        if judgments is not None and query_id in judgments:
            ndcg.append(_ndcg(items, judgments[query_id], k))
        if on_progress is not None:
            on_progress(1)
    n = max(len(queries), 1)
    objectives: dict[str, Any] = {
        f"expected {name}s / list" if name != "revenue" else "expected revenue / list": (
            totals[name] / n if name in seen else None
        )
        for name in EXPECTED
    }
    objectives[f"ndcg@{k}"] = float(np.mean(ndcg)) if ndcg else None
    served = ServedLists(
        tuple(lists),
        tuple(times),
        dict(merit),
        tuple(outcomes),
        merit_from="candidates' retrieval relevance; outcomes are the served predictions' "
        "expectations; time is request order",
    )
    return Replay(served, objectives)
