"""Leave-last-out evaluation of a recommender's generators and their merge.

Every user with a test item is ranked over the full catalog from her history before the
test (train, then valid items), that history excluded; Recall@K and NDCG@K (and hit rate)
against her test items, for each generator and for the merge. A K larger than the items
left after the longest history is lowered to that number (the metric names say so). `fit_on_train` fits the
generators on the train part, with early stopping on the valid items of a seeded sample.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from paretorec.evaluate.metrics import Metric, batch_ranking_metrics
from paretorec.retrieve.recommend._neural import ValidationSet
from paretorec.retrieve.recommend.base import Generator, Progress, Source, TrainingData
from paretorec.retrieve.recommend.interactions import SplitSequences
from paretorec.retrieve.recommend.merge import Quotas
from paretorec.retrieve.recommend.recommender import DEFAULT_QUOTAS, Recommender

__all__ = ["MERGE", "evaluate_recommender", "fit_on_train", "validation_set"]

MERGE = "merge"
_METRICS = (Metric.RECALL, Metric.NDCG, Metric.HIT_RATE)


def validation_set(sequences: SplitSequences, *, users: int, seed: int) -> ValidationSet | None:
    """Up to `users` users (seeded sample) with a valid item and a train history: their
    train histories and first valid items; None when there are none."""
    usable = np.flatnonzero(
        [v.size > 0 and t.size > 0 for v, t in zip(sequences.valid, sequences.train, strict=True)]
    )
    if usable.size == 0:
        return None
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(usable, min(users, usable.size), replace=False))
    return ValidationSet(
        tuple(sequences.train[u] for u in chosen),
        np.array([sequences.valid[u][0] for u in chosen], dtype=np.int64),
    )


def fit_on_train(
    sequences: SplitSequences,
    text_vectors: NDArray[np.float32],
    *,
    generators: Iterable[Generator],
    quotas: Quotas = DEFAULT_QUOTAS,
    validation_users: int = 5000,
    seed: int = 0,
    store_full_histories: bool = False,
    on_progress: Callable[[Generator, TrainingData], Progress] | None = None,
    on_epoch: Callable[[Source, int, float], None] | None = None,
) -> Recommender:
    """A recommender fitted on the train part; stored histories are the train part, or
    every item of each user (`store_full_histories`, for serving)."""
    histories = None
    if store_full_histories:
        histories = [
            np.concatenate([t, v, s])
            for t, v, s in zip(sequences.train, sequences.valid, sequences.test, strict=True)
        ]
    return Recommender.fit(
        sequences.item_ids,
        text_vectors,
        sequences.train,
        generators=generators,
        quotas=quotas,
        user_ids=sequences.user_ids,
        user_histories=histories,
        validation=validation_set(sequences, users=validation_users, seed=seed),
        on_progress=on_progress,
        on_epoch=on_epoch,
    )


def evaluate_recommender(
    recommender: Recommender,
    sequences: SplitSequences,
    *,
    ks: Sequence[int] = (10, 50),
    on_progress: Callable[[str], None] | None = None,
) -> dict[str, dict[str, float]]:
    """Metrics by generator name and ``"merge"`` (see the module docstring)."""
    users = np.flatnonzero([t.size > 0 for t in sequences.test])
    if users.size == 0:
        raise ValueError("no user has a test item: nothing to evaluate")
    held = sequences.held_out_test(users)
    histories, relevance = held.histories, held.relevance
    ks = sorted({min(int(k), held.room) for k in ks})  # a small catalog caps K
    k = max(ks)
    out: dict[str, dict[str, float]] = {}
    ranked = {}
    for source in (*recommender.generators,):
        ranked[source] = recommender.rank(source, histories, k=k)
        out[source.value] = _metrics(ranked[source][0], relevance, ks)
        if on_progress is not None:
            on_progress(source.value)
    merged, _ = recommender.rank_many(histories, k=k, ranked=ranked)
    out[MERGE] = _metrics(merged, relevance, ks)
    if on_progress is not None:
        on_progress(MERGE)
    return out


def _metrics(
    items: NDArray[np.int64], relevance: sp.csr_array, ks: Sequence[int]
) -> dict[str, float]:
    return batch_ranking_metrics(items, relevance, ks=ks, metrics=_METRICS).as_dict()
