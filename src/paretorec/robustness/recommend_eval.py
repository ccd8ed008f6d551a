"""The recommender as the robustness report measures it: `RecommendEvaluator`.

Leave-last-out (the events' `split`, which the event scenarios keep, else filled per
user), popularity + co-visitation fitted on the train rows (co-visitation's quota 1, the
popularity floor fills), and each test user ranked over the full catalog from her train
and valid items (history excluded): NDCG@10 and Recall@10 per user, for paired
intervals. The units are the users of the clean log that have a test item and a train
history (at most `max_users`, a seeded sample), so every strength measures the same
users; accounts a scenario adds (bots) are never measured.

Defence `actor-caps`: `ActorCaps(per_user=PER_USER, per_item=PER_ITEM)` on both counting
generators and co-visitation pair support `MIN_SUPPORT` (the values
benchmarks/bench_robustness_recommend.py measured on Amazon Games).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from paretorec.evaluate.metrics import Metric, batch_ranking_metrics
from paretorec.retrieve.recommend import (
    ActorCaps,
    CoVisitation,
    Popularity,
    Quotas,
    Recommender,
    Source,
    split_sequences,
)
from paretorec.robustness.scenarios import Defence, Defences, Measurement
from paretorec.types import Dataset

__all__ = ["MIN_SUPPORT", "OBJECTIVES", "PER_ITEM", "PER_USER", "RecommendEvaluator"]

OBJECTIVES = ("ndcg@10", "recall@10")
PER_USER = 50
PER_ITEM = 1
MIN_SUPPORT = 2
K = 10


class RecommendEvaluator:
    """Measures a (stressed) dataset's recommender (module notes); `text_vectors` (one
    unit row per catalog item) feed co-visitation's fallback for items it has no counts
    for, None: no fallback."""

    #: the defences this evaluator reads (anything else is refused, not ignored)
    honours: ClassVar[frozenset[Defence]] = frozenset({Defence.ACTOR_CAPS})

    def __init__(
        self,
        *,
        text_vectors: NDArray[np.float32] | None = None,
        max_users: int = 10_000,
        seed: int = 0,
    ) -> None:
        if max_users < 2:
            raise ValueError(f"max_users must be at least 2, got {max_users}")
        self.text_vectors = text_vectors
        self.max_users = max_users
        self.seed = seed
        self._users: tuple[str, ...] | None = None

    def __call__(self, dataset: Dataset, defences: Defences) -> Measurement:
        sequences = split_sequences(dataset)
        if self._users is None:  # the first call sees the clean data (the report's order)
            usable = [
                u
                for u, t, h in zip(sequences.user_ids, sequences.test, sequences.train, strict=True)
                if t.size and h.size
            ]
            if len(usable) < 2:
                raise ValueError(f"{dataset.name}: fewer than 2 users with a test item to rank")
            rng = np.random.default_rng(self.seed)
            chosen = rng.choice(len(usable), size=min(self.max_users, len(usable)), replace=False)
            self._users = tuple(sorted(usable[i] for i in chosen.tolist()))
        defended = Defence.ACTOR_CAPS in defences
        caps = ActorCaps(per_user=PER_USER, per_item=PER_ITEM) if defended else ActorCaps()
        vectors = self.text_vectors
        if vectors is None:
            vectors = np.zeros((sequences.n_items, 1), dtype=np.float32)
        model = Recommender.fit(
            sequences.item_ids,
            vectors,
            sequences.train,
            generators=[
                Popularity(caps=caps),
                CoVisitation(
                    caps=caps,
                    min_support=MIN_SUPPORT if defended else 1,
                    text_neighbours=5 if self.text_vectors is not None else 0,
                ),
            ],
            quotas=Quotas({Source.COVISITATION: 1.0}),
        )
        row = {u: i for i, u in enumerate(sequences.user_ids)}
        missing = [u for u in self._users if u not in row]
        if missing:
            raise ValueError(f"user {missing[0]!r} of the clean data is gone from the stressed")
        held = sequences.held_out_test(np.array([row[u] for u in self._users], dtype=np.int64))
        ranked, _ = model.rank_many(held.histories, k=K)
        found = batch_ranking_metrics(
            ranked, held.relevance, ks=(K,), metrics=(Metric.NDCG, Metric.RECALL)
        )
        values = {m: np.asarray(found.per_user[m], dtype=np.float64) for m in OBJECTIVES}
        return Measurement(units=self._users, values=values)
