"""Popularity: the floor under every other generator, and what a user with no history gets.

`score` is the item's training count (every user gets the same list; new items count 0).
`popular_diverse(k, text_vectors)` is the cold-user list: maximal marginal relevance over
the `pool` most popular items, ``(1 - diversity) * popularity / max - diversity * (max
cosine to the items already chosen)``, so the list leans popular but does not show five
editions of one game.

Caps (`caps`, `ActorCaps`): what one shopper adds to the counts is capped, at training
and online alike, so one click bot cannot top the list (see `caps.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Self

import numpy as np
from numpy.typing import NDArray

from paretorec.retrieve.recommend._files import read_model, write_model
from paretorec.retrieve.recommend.base import (
    Generator,
    History,
    NotFittedError,
    Progress,
    Source,
    TrainingData,
    check_histories,
)
from paretorec.retrieve.recommend.caps import (
    DEFAULT_CAPS,
    ActorCaps,
    capped_sequences,
    counted_new,
)

__all__ = ["Popularity", "popular_diverse"]

_KIND = "popularity"


class Popularity(Generator):
    """Items by training count (ties: the smaller index first, as the top-K breaks them)."""

    source: ClassVar[Source] = Source.POPULARITY
    min_score: ClassVar[float] = 0.0

    def __init__(
        self, *, diversity: float = 0.3, pool: int = 200, caps: ActorCaps = DEFAULT_CAPS
    ) -> None:
        if not 0.0 <= diversity <= 1.0:
            raise ValueError(f"diversity must be in [0, 1], got {diversity}")
        if pool < 1:
            raise ValueError(f"pool must be >= 1, got {pool}")
        self.diversity = diversity
        self.pool = pool
        self.caps = caps
        self._counts: NDArray[np.float64] | None = None

    @property
    def counts(self) -> NDArray[np.float64]:
        if self._counts is None:
            raise NotFittedError("Popularity is not fitted: call fit first")
        return self._counts

    def fit(self, data: TrainingData, *, on_progress: Progress = None) -> Self:
        if self.caps.enabled:
            sequences = capped_sequences(data.sequences, self.caps)
            flat = np.concatenate(sequences) if sequences else np.zeros(0, dtype=np.int64)
            self._counts = np.bincount(flat, minlength=data.n_items).astype(np.float64)
        else:
            self._counts = data.counts.copy()
        if on_progress is not None:
            on_progress(1)
        return self

    def observe(self, before: History, new: History, shopper: str | None = None) -> None:
        """Count the `new` items' interactions seen after training (new items included),
        those that count under the caps given the shopper's history `before`."""
        _, items = counted_new(before, new, self.caps)
        if items.size == 0:
            return
        counts = self.counts
        if int(items.max()) >= counts.size:
            counts = np.concatenate([counts, np.zeros(int(items.max()) + 1 - counts.size)])
        np.add.at(counts, items, 1.0)
        self._counts = counts

    def item_scores(self, n_items: int) -> NDArray[np.float32]:
        """Each current item's count (items added after training: 0)."""
        counts = self.counts
        out = np.zeros(n_items, dtype=np.float32)
        keep = min(n_items, counts.size)
        out[:keep] = counts[:keep]
        return out

    def score(
        self, histories: Sequence[History], text_vectors: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        n_items = text_vectors.shape[0]
        check_histories(histories, n_items)
        return np.broadcast_to(self.item_scores(n_items), (len(histories), n_items)).copy()

    def popular_diverse(
        self, k: int, text_vectors: NDArray[np.float32], allowed: NDArray[np.bool_]
    ) -> NDArray[np.int64]:
        """The cold-user list (see the module docstring) of at most `k` allowed items."""
        return popular_diverse(
            self.item_scores(text_vectors.shape[0]),
            text_vectors,
            allowed,
            k=k,
            diversity=self.diversity,
            pool=self.pool,
        )

    def save(self, folder: str | Path) -> None:
        write_model(
            folder,
            _KIND,
            {"diversity": self.diversity, "pool": self.pool, **self.caps.as_config()},
            {"counts": self.counts},
        )

    @classmethod
    def load(cls, folder: str | Path) -> Self:
        config, arrays = read_model(folder, _KIND)
        model = cls(
            diversity=float(config["diversity"]),
            pool=int(config["pool"]),
            caps=ActorCaps.from_config(config),
        )
        model._counts = arrays["counts"].astype(np.float64)
        return model


def popular_diverse(
    popularity: NDArray[np.floating],
    text_vectors: NDArray[np.float32],
    allowed: NDArray[np.bool_],
    *,
    k: int,
    diversity: float,
    pool: int,
) -> NDArray[np.int64]:
    """Maximal marginal relevance over the `pool` most popular allowed items."""
    candidates = np.flatnonzero(allowed)
    if candidates.size == 0 or k < 1:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((candidates, -popularity[candidates]))
    candidates = candidates[order[: max(pool, k)]]
    relevance = popularity[candidates].astype(np.float64)
    relevance = relevance / relevance.max() if relevance.max() > 0 else relevance
    vectors = text_vectors[candidates].astype(np.float64)
    similarity = vectors @ vectors.T
    chosen: list[int] = []
    closest = np.full(candidates.size, -np.inf)
    free = np.ones(candidates.size, dtype=bool)
    for _ in range(min(k, candidates.size)):
        penalty = np.where(np.isfinite(closest), closest, 0.0)
        value = (1.0 - diversity) * relevance - diversity * penalty
        value[~free] = -np.inf
        best = int(np.argmax(value))
        chosen.append(best)
        free[best] = False
        closest = np.maximum(closest, similarity[best])
    return candidates[np.asarray(chosen, dtype=np.int64)]
