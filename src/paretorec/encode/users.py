"""User vectors from the items a user interacted with (pure numpy).

A user is the weighted mean of her items' embeddings, scaled back to unit length, so
that a dot product with an item or query vector is a cosine like any other.  Weights:

- history as lists of item indices, oldest first: the most recent item weighs 1, the
  one before `recency_decay`, then ``recency_decay**2``, ... (1.0, the default, is the
  plain mean; an item seen twice counts twice);
- history as a CSR matrix (users x items, such as ``scipy.sparse.csr_array``; anything
  with ``indptr``, ``indices``, ``data`` and ``shape``): each stored value is that
  interaction's weight (a count, an event weight, a recency weight the caller computed),
  since CSR keeps no order; `recency_decay` must then stay 1.0.

A user with no history (an empty list, an empty row, weights summing to zero, or items
whose vectors cancel out) is *cold*: `cold_start` says what her row holds, and
`UserVectors.cold` marks her either way, so a caller can route her to another source:

- ``ColdStart.POPULAR_MEAN``: the popularity-weighted mean of the catalog's embeddings
  (weights `item_popularity`, e.g. purchase counts; uniform when it is not given), unit
  length: her recommendations lean to the catalog's popular centre;
- ``ColdStart.ZERO``: a zero row, which scores every item 0: serve popular items instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeGuard, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from paretorec.encode.base import Embeddings

_MAX_ROWS_PER_CHUNK = 1 << 15  # interactions gathered at once (x dimension floats)
_EPSILON = 1e-12


class ColdStart(StrEnum):
    """What a user without history gets (see the module docstring)."""

    POPULAR_MEAN = "popular-mean"
    ZERO = "zero"


class CsrLike(Protocol):
    """A compressed-sparse-row matrix, such as `scipy.sparse.csr_array`."""

    @property
    def indptr(self) -> NDArray[np.integer]: ...

    @property
    def indices(self) -> NDArray[np.integer]: ...

    @property
    def data(self) -> NDArray[np.number]: ...

    @property
    def shape(self) -> tuple[int, ...]: ...


@dataclass(frozen=True)
class UserVectors:
    """One row per user (float32, unit length except ``ColdStart.ZERO`` rows), and
    which users were cold."""

    vectors: Embeddings
    cold: NDArray[np.bool_]


def user_vectors(
    item_embeddings: NDArray[np.floating],
    history: Sequence[Sequence[int]] | CsrLike,
    *,
    recency_decay: float = 1.0,
    cold_start: ColdStart | str = ColdStart.POPULAR_MEAN,
    item_popularity: ArrayLike | None = None,
) -> UserVectors:
    """The vector of each user of `history` from `item_embeddings` (n_items, d), as the
    module docstring says; item indices are rows of `item_embeddings`."""
    embeddings = np.asarray(item_embeddings, dtype=np.float32)
    if embeddings.ndim != 2:
        raise ValueError(f"item_embeddings must be 2-D (items, dimension), got {embeddings.shape}")
    if not 0.0 < recency_decay <= 1.0:
        raise ValueError(f"recency_decay must be in (0, 1], got {recency_decay}")
    mode = ColdStart(cold_start)
    n_items = embeddings.shape[0]
    if not _is_csr(history):
        lists = cast("Sequence[Sequence[int]]", history)  # TypeGuard does not narrow "not"
        indptr, items, weights = _from_lists(lists, recency_decay)
    else:
        if recency_decay != 1.0:
            raise ValueError(
                "a CSR history keeps no order: put recency weights in its data and leave "
                "recency_decay at 1.0 (or pass lists of item indices, oldest first)"
            )
        indptr, items, weights = _from_csr(history, n_items)
    if items.size and (items.min() < 0 or items.max() >= n_items):
        bad = items[(items < 0) | (items >= n_items)][0]
        raise IndexError(f"item index {bad} is outside the {n_items} item embeddings")
    if weights.size and (not np.all(np.isfinite(weights)) or weights.min() < 0):
        raise ValueError("interaction weights must be finite and non-negative")

    n_users = indptr.size - 1
    sums = _weighted_sums(embeddings, indptr, items, weights)
    norms = np.linalg.norm(sums, axis=1)
    cold = norms <= _EPSILON
    vectors = np.zeros((n_users, embeddings.shape[1]), dtype=np.float32)
    warm = ~cold
    vectors[warm] = (sums[warm] / norms[warm, None]).astype(np.float32)
    if cold.any() and mode is ColdStart.POPULAR_MEAN:
        vectors[cold] = _popular_mean(embeddings, item_popularity)
    return UserVectors(vectors=vectors, cold=cold)


def _is_csr(history: object) -> TypeGuard[CsrLike]:
    return all(hasattr(history, name) for name in ("indptr", "indices", "data", "shape"))


def _from_csr(
    history: CsrLike, n_items: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    if len(history.shape) != 2 or history.shape[1] != n_items:
        raise ValueError(
            f"the history matrix has shape {history.shape}; its columns must be the "
            f"{n_items} items of item_embeddings"
        )
    indptr = np.asarray(history.indptr, dtype=np.int64)
    return (
        indptr,
        np.asarray(history.indices, dtype=np.int64)[: indptr[-1]],
        np.asarray(history.data, dtype=np.float64)[: indptr[-1]],
    )


def _from_lists(
    history: Sequence[Sequence[int]], decay: float
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    lengths = np.array([len(items) for items in history], dtype=np.int64)
    indptr = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    flat = [int(item) for items in history for item in items]
    items = np.array(flat, dtype=np.int64)
    # Position from the end of each user's list: 0 for the latest item.
    user_end = np.repeat(indptr[1:], lengths)
    from_end = user_end - 1 - np.arange(items.size, dtype=np.int64)
    weights = np.power(decay, from_end.astype(np.float64)) if decay != 1.0 else np.ones(items.size)
    return indptr, items, weights


def _weighted_sums(
    embeddings: Embeddings,
    indptr: NDArray[np.int64],
    items: NDArray[np.int64],
    weights: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Each user's sum of weight x embedding, in float64, a chunk of users at a time."""
    n_users = indptr.size - 1
    sums = np.zeros((n_users, embeddings.shape[1]), dtype=np.float64)
    counts = np.diff(indptr)
    start_user = 0
    while start_user < n_users:
        # As many users as fit in the chunk (at least one, however long her history).
        limit = indptr[start_user] + _MAX_ROWS_PER_CHUNK
        end_user = max(start_user + 1, int(np.searchsorted(indptr, limit, side="right")) - 1)
        end_user = min(end_user, n_users)
        lo, hi = indptr[start_user], indptr[end_user]
        if hi > lo:
            rows = embeddings[items[lo:hi]].astype(np.float64) * weights[lo:hi, None]
            users = np.arange(start_user, end_user)
            active = users[counts[start_user:end_user] > 0]
            sums[active] = np.add.reduceat(rows, indptr[active] - lo, axis=0)
        start_user = end_user
    return sums


def _popular_mean(embeddings: Embeddings, popularity: ArrayLike | None) -> Embeddings:
    n_items = embeddings.shape[0]
    if popularity is None:
        weights = np.ones(n_items)
    else:
        weights = np.asarray(popularity, dtype=np.float64)
        if weights.shape != (n_items,):
            raise ValueError(f"item_popularity has shape {weights.shape}, expected ({n_items},)")
        if not np.all(np.isfinite(weights)) or weights.min(initial=0.0) < 0:
            raise ValueError("item_popularity must be finite and non-negative")
        if weights.sum() <= 0:
            weights = np.ones(n_items)
    mean = weights @ embeddings.astype(np.float64)
    norm = np.linalg.norm(mean)
    if norm <= _EPSILON:
        return np.zeros(embeddings.shape[1], dtype=np.float32)
    return (mean / norm).astype(np.float32)
