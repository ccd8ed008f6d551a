"""The best K of a masked score vector, ties broken by the smaller item position, and the
`check_k` every search uses."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from paretorec.retrieve.candidates import Candidates

__all__ = ["check_k", "select_top_k", "to_candidates"]


def check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ValueError(f"k must be an integer, got {k!r}")
    if k <= 0:
        raise ValueError(f"k must be >= 1, got {k}")
    return int(k)


def select_top_k(
    scores: NDArray[np.floating],
    allowed: NDArray[np.bool_] | None,
    k: int,
    tiebreak: NDArray[np.int64],
) -> NDArray[np.int64]:
    """Indices into `scores` of the best `k` allowed entries, best first; equal scores in
    ascending `tiebreak` order. Fewer than `k` when fewer are allowed."""
    if allowed is None:
        candidates = np.arange(scores.size, dtype=np.int64)
    else:
        candidates = np.flatnonzero(allowed).astype(np.int64)
    if candidates.size > k:
        values = scores[candidates]
        cut = values.size - k
        kth = np.partition(values, cut)[cut]
        candidates = candidates[values >= kth]
    order = np.lexsort((tiebreak[candidates], -scores[candidates].astype(np.float64)))
    return candidates[order[:k]]


def to_candidates(
    ids: list[str], positions: NDArray[np.int64], scores: NDArray[np.floating], name: str
) -> Candidates:
    """A single retriever's result: one component, `name`, equal to the scores."""
    values = scores.astype(np.float64)
    return Candidates(tuple(ids[p] for p in positions.tolist()), positions, values, {name: values})
