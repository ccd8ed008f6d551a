"""The recommender contract: what every candidate generator does, and what it returns.

A generator scores items for user histories. Items are *indices* into the current item
table (the training catalog's rows, then items added later, in order); histories are
arrays of item indices, oldest first. Every generator:

- `fit(data)` learns from `TrainingData` (the train sequences and the items' text vectors);
- `score(histories, text_vectors)` gives a (len(histories), n_items) float32 matrix of
  finite scores over the *current* items, whose text vectors it is handed, so an item
  added after training (text only) is scored at once, by the generators that read text;
- `save(folder)` writes JSON config and safetensors arrays (never pickle), and the class
  method `load(folder)` reads them back to a generator that scores identically.

Higher is better; items a generator knows nothing about get its floor score (0 for the
count-based ones). Ranking, exclusion and merging happen above, in `Recommender`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import ClassVar, Self

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Generator",
    "History",
    "NotFittedError",
    "Progress",
    "Recommendations",
    "Source",
    "TrainingData",
]

History = NDArray[np.int64]
"""A user's items as item indices, oldest first."""

Progress = Callable[[int], None] | None
"""`on_progress(n)`: n more units of work (training steps, users) are done."""


class Source(StrEnum):
    """The candidate generators, by the name a recommendation carries as its source."""

    POPULARITY = "popularity"
    COVISITATION = "covisitation"
    TWO_TOWER = "two-tower"
    SEQUENTIAL = "sequential"
    TEXT = "text"
    """Text similarity to the session: the learned merge's own candidates, not a generator."""


class NotFittedError(RuntimeError):
    """A generator was asked to score or save before `fit`."""


@dataclass(frozen=True, eq=False)
class TrainingData:
    """What generators learn from.

    - `text_vectors`: (n_items, d) float32, unit-length text embedding of each item;
    - `sequences`: each training user's items as indices, oldest first (users with no
      item may be present and are ignored).
    """

    text_vectors: NDArray[np.float32]
    sequences: tuple[History, ...]
    counts: NDArray[np.float64] = field(init=False)

    def __post_init__(self) -> None:
        vectors = np.ascontiguousarray(self.text_vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] == 0:
            raise ValueError(f"text_vectors must be (n_items >= 1, d), got {vectors.shape}")
        if not np.isfinite(vectors).all():
            raise ValueError("text_vectors hold a non-finite value")
        n_items = vectors.shape[0]
        sequences = tuple(np.asarray(s, dtype=np.int64).reshape(-1) for s in self.sequences)
        flat = np.concatenate(sequences) if sequences else np.zeros(0, dtype=np.int64)
        if flat.size and (flat.min() < 0 or flat.max() >= n_items):
            raise ValueError(f"a sequence holds an item index outside [0, {n_items})")
        object.__setattr__(self, "text_vectors", vectors)
        object.__setattr__(self, "sequences", sequences)
        counts = np.bincount(flat, minlength=n_items).astype(np.float64)
        object.__setattr__(self, "counts", counts)

    @property
    def n_items(self) -> int:
        return int(self.text_vectors.shape[0])

    @property
    def n_interactions(self) -> int:
        return int(self.counts.sum())


@dataclass(frozen=True, eq=False)
class Recommendations:
    """Recommended items, best first: ids, their indices in the item table, scores
    (non-increasing) and the generator that put each one there."""

    item_ids: tuple[str, ...]
    indices: NDArray[np.int64]
    scores: NDArray[np.float64]
    sources: tuple[Source, ...]
    ignored: tuple[str, ...] = ()
    """History or session items that were not in the catalog and so were left out."""
    cold_start: bool = False
    """No usable history (an unknown user, an empty or unknown session): the list is the
    popular-and-diverse one, the same for every such shopper."""

    def __post_init__(self) -> None:
        n = len(self.item_ids)
        if len(self.sources) != n or self.indices.shape != (n,) or self.scores.shape != (n,):
            raise ValueError("item_ids, indices, scores and sources must have one length")
        if n > 1 and (np.diff(self.scores) > 1e-12).any():
            raise ValueError("scores must be non-increasing (best first)")

    def __len__(self) -> int:
        return len(self.item_ids)


class Generator(ABC):
    """A candidate generator (see the module docstring)."""

    source: ClassVar[Source]
    min_score: ClassVar[float] = -np.inf
    """An item is a candidate of this generator only when it scores above this."""

    @abstractmethod
    def fit(self, data: TrainingData, *, on_progress: Progress = None) -> Self: ...

    @abstractmethod
    def score(
        self, histories: Sequence[History], text_vectors: NDArray[np.float32]
    ) -> NDArray[np.float32]: ...

    @abstractmethod
    def save(self, folder: str | Path) -> None: ...

    @classmethod
    @abstractmethod
    def load(cls, folder: str | Path) -> Self: ...

    def observe(self, before: History, new: History, shopper: str | None = None) -> None:
        """A shopper's (id `shopper`) `new` interactions seen after training, after the items
        `before` them in her history. Counting generators update at once; by default a
        generator learns them at its next training."""
        return None


def check_histories(histories: Sequence[History], n_items: int) -> list[History]:
    """Histories as int64 arrays, each index in [0, n_items)."""
    out = []
    for row, history in enumerate(histories):
        array = np.asarray(history, dtype=np.int64).reshape(-1)
        if array.size and (array.min() < 0 or array.max() >= n_items):
            raise IndexError(f"history {row} holds an item index outside [0, {n_items})")
        out.append(array)
    return out
