"""Leave-last-out evaluation of a recommender's generators and their merge.

Every user with a test item is ranked over the full catalog from her history before the
test (train, then valid items), that history excluded; Recall@K and NDCG@K (and hit rate)
against her test items, for each generator and for the merge. A K larger than the items
left after the longest history is lowered to that number (the metric names say so). `fit_on_train` fits the
generators on the train part, with early stopping on the valid items of a seeded sample.

Slices: besides all test users, each row is also reported on the users whose test items
had no train interaction (``"<name> [cold]"``) and on those whose test items had 1 to
`TAIL_MAX` (5) train interactions (``"<name> [tail 1-5]"``), with the slice's user count
(``users``); where IDs are weak, these show what text buys.

`fit_learned_merge` trains the learned merge (`learned_merge`) on the valid item of each
sampled user (her second-to-last item; the generators were fitted on the train part, so
neither it nor the test item was seen) and measures it against the quotas on a seeded
fifth of those users it did not train on. `carve_validation` makes valid items out of the
train part (each user's last train item) for data whose split has none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from paretorec.evaluate.metrics import Metric, batch_ranking_metrics
from paretorec.retrieve.recommend._neural import ValidationSet
from paretorec.retrieve.recommend.base import Generator, Progress, Source, TrainingData
from paretorec.retrieve.recommend.interactions import SplitSequences
from paretorec.retrieve.recommend.learned_merge import LearnedMerge, MergeConfig
from paretorec.retrieve.recommend.merge import Quotas
from paretorec.retrieve.recommend.recommender import DEFAULT_QUOTAS, Recommender

__all__ = [
    "MERGE",
    "QUOTA_MERGE",
    "TAIL_MAX",
    "MergeChoice",
    "carve_validation",
    "evaluate_recommender",
    "fit_learned_merge",
    "fit_on_train",
    "merge_training_set",
    "validation_set",
]

MERGE = "merge"
QUOTA_MERGE = "merge (quotas)"
"""The quota merge's row when the recommender merges by its learned merge."""
TAIL_MAX = 5
"""A test item with 1 to this many train interactions is long-tail; with none, cold."""
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
    lists = {source.value: ranked[source][0] for source in ranked}
    merged, _ = recommender.rank_many(histories, k=k, ranked=ranked)
    lists[MERGE] = merged
    out[MERGE] = _metrics(merged, relevance, ks)
    if recommender.learned is not None:
        quota, _ = recommender.rank_many(histories, k=k, ranked=ranked, quotas=recommender.quotas)
        lists[QUOTA_MERGE] = quota
        out[QUOTA_MERGE] = _metrics(quota, relevance, ks)
    if on_progress is not None:
        on_progress(MERGE)
    counts = _train_counts(sequences)
    most = np.array([counts[sequences.test[u]].max() for u in users.tolist()])
    for label, inside in (
        ("cold", most == 0),
        (f"tail 1-{TAIL_MAX}", (most > 0) & (most <= TAIL_MAX)),
    ):
        if not inside.any():
            continue
        rows = np.flatnonzero(inside)
        for name, items in lists.items():
            found = _metrics(items[rows], relevance[rows], ks)
            out[f"{name} [{label}]"] = {**found, "users": float(rows.size)}
    return out


def _train_counts(sequences: SplitSequences) -> NDArray[np.int64]:
    flat = [t for t in sequences.train if t.size]
    joined = np.concatenate(flat) if flat else np.zeros(0, dtype=np.int64)
    return np.bincount(joined, minlength=sequences.n_items)


def merge_training_set(
    sequences: SplitSequences, *, users: int, seed: int
) -> tuple[list[NDArray[np.int64]], NDArray[np.int64]]:
    """Up to `users` users (seeded) with a valid item and a train history: the train
    histories and each one's first valid item (never a test item)."""
    usable = np.flatnonzero(
        [v.size > 0 and t.size > 0 for v, t in zip(sequences.valid, sequences.train, strict=True)]
    )
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(usable, min(users, usable.size), replace=False))
    return (
        [sequences.train[u] for u in chosen.tolist()],
        np.array([sequences.valid[u][0] for u in chosen.tolist()], dtype=np.int64),
    )


def carve_validation(sequences: SplitSequences) -> SplitSequences:
    """The sequences with each user's last train item moved to valid, for users with no
    valid item and at least two train items (test items stay where they are)."""
    train, valid = [], []
    for t, v in zip(sequences.train, sequences.valid, strict=True):
        if v.size == 0 and t.size >= 2:
            train.append(t[:-1])
            valid.append(t[-1:])
        else:
            train.append(t)
            valid.append(v)
    return SplitSequences(
        sequences.item_ids, sequences.user_ids, tuple(train), tuple(valid), sequences.test
    )


@dataclass(frozen=True)
class MergeChoice:
    """A trained learned merge and how it and the quotas did on held-out valid users."""

    learned: LearnedMerge
    learned_ndcg: float
    quotas_ndcg: float
    train_users: int
    check_users: int

    @property
    def learned_wins(self) -> bool:
        return self.learned_ndcg > self.quotas_ndcg


def fit_learned_merge(
    recommender: Recommender,
    sequences: SplitSequences,
    *,
    config: MergeConfig | None = None,
    users: int = 20000,
    check_share: float = 0.2,
    seed: int = 0,
    on_progress: Callable[[int], None] | None = None,
) -> MergeChoice:
    """Train the learned merge over `recommender`'s generators (fitted on
    `sequences.train`) on the valid items of up to `users` users, and compare its
    NDCG@10 with the quotas' on a seeded `check_share` of them it did not train on."""
    if not 0.0 < check_share < 1.0:
        raise ValueError(f"check_share must be in (0, 1), got {check_share}")
    histories, targets = merge_training_set(sequences, users=users, seed=seed)
    if targets.size < 2:
        raise ValueError("fewer than 2 users have a valid item: nothing to train the merge on")
    rng = np.random.default_rng(seed + 1)
    check = np.zeros(targets.size, dtype=bool)
    check[rng.choice(targets.size, max(1, round(check_share * targets.size)), replace=False)] = True
    fit_rows, check_rows = np.flatnonzero(~check), np.flatnonzero(check)
    learned = LearnedMerge.fit(
        recommender.generators,
        recommender.text_vectors,
        sequences.train,
        [histories[r] for r in fit_rows.tolist()],
        targets[fit_rows],
        live=recommender.live,
        config=config,
        on_progress=on_progress,
    )
    check_histories = [histories[r] for r in check_rows.tolist()]
    relevance = sp.csr_array(
        (np.ones(check_rows.size), (np.arange(check_rows.size), targets[check_rows])),
        shape=(check_rows.size, recommender.n_items),
    )
    k = min(10, recommender.n_items - max(np.unique(h).size for h in check_histories))
    ours, _ = learned.rank(
        recommender.generators,
        recommender.text_vectors,
        check_histories,
        k=k,
        live=recommender.live,
    )
    quota, _ = recommender.rank_many(check_histories, k=k, quotas=recommender.quotas)
    ndcg = f"ndcg@{k}"
    return MergeChoice(
        learned,
        _metrics(ours, relevance, [k])[ndcg],
        _metrics(quota, relevance, [k])[ndcg],
        int(fit_rows.size),
        int(check_rows.size),
    )


def _metrics(
    items: NDArray[np.int64], relevance: sp.csr_array, ks: Sequence[int]
) -> dict[str, float]:
    return batch_ranking_metrics(items, relevance, ks=ks, metrics=_METRICS).as_dict()
