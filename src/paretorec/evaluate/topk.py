"""Full-catalog top-K: score every item for every user, chunk by chunk, and keep the best K.

Scores come from dot products of user and item vectors (``U[chunk] @ V.T`` in float32,
by torch's matmul) or from any callable that scores a chunk of users against all items.
Each user's training items (the non-zero entries of `exclude`) get score -inf before the
selection, so they are never recommended. Memory stays bounded by the chunk:

    peak extra bytes ~= chunk_size * n_items * B  +  n_users * K * 16 (the result)
                        (+ float32 copies of the vectors, 4 (n_users + n_items) d, in top_k_dot)

with B = 4 for `TopKBackend.TORCH` (the float32 score chunk; `torch.topk` needs only
O(chunk_size K) more), 12 for `ARGPARTITION` (scores + int64 partition indices) and 16 for
`ARGSORT` (scores, their negation, int64 sort indices). With the default chunk of 1,024
users and 17,000 items, the torch path holds about 70 MB of scores at a time (measured on
Amazon Video Games, 50,546 users, K = 50: 132 MB above the baseline in all).

Every backend returns exactly the first K of a stable sort by descending score (ties go
to the smaller item index), so the three agree item for item: `torch.topk` and
`argpartition` choose the K + 1 best, which are ordered by (score, item), and a row whose
K-th and (K+1)-th scores tie is sorted in full. Scores must not be NaN or +inf (a
ValueError names the user); -inf is allowed but may not be needed to fill the K.
On the 2-core development machine, torch is the fastest of the three (see
benchmarks/results/topk.md), so it is the default.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import ArrayLike, NDArray

from paretorec.evaluate.metrics import (
    ALL_METRICS,
    APNormalization,
    Gain,
    Metric,
    RankingMetrics,
    batch_ranking_metrics,
)
from paretorec.objectives import validation as check

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "ScoreFn",
    "TopK",
    "TopKBackend",
    "TopKEvaluation",
    "evaluate_ranked",
    "evaluate_top_k",
    "top_k_dot",
    "top_k_scores",
    "users_with_relevance",
]

DEFAULT_CHUNK_SIZE = 1024

# Scores of a chunk of users: user indices (m,) -> (m, n_items) array.
ScoreFn = Callable[[NDArray[np.int64]], ArrayLike]


class TopKBackend(StrEnum):
    TORCH = "torch"  # torch.topk on each chunk (the default, fastest here)
    ARGPARTITION = "argpartition"  # numpy argpartition, then a sort of the K
    ARGSORT = "argsort"  # the naive path: a full argsort of every row


@dataclass(frozen=True, eq=False)
class TopK:
    """The best K items of each ranked user, best first, and their scores."""

    users: NDArray[np.int64]  # (m,) the user (row) indices ranked
    items: NDArray[np.int64]  # (m, K)
    scores: NDArray[np.float64]  # (m, K)


@dataclass(frozen=True, eq=False)
class TopKEvaluation:
    top: TopK
    metrics: RankingMetrics


def _exclusions(exclude: Any, n_users: int, n_items: int) -> sp.csr_array | None:
    if exclude is None:
        return None
    if not sp.issparse(exclude):
        raise ValueError(f"exclude must be a scipy sparse matrix, got {type(exclude).__name__}")
    if exclude.shape != (n_users, n_items):
        raise ValueError(f"exclude has shape {exclude.shape}, expected {(n_users, n_items)}")
    matrix = sp.csr_array(exclude, copy=True)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix


def _user_rows(users: ArrayLike | None, n_users: int) -> NDArray[np.int64]:
    if users is None:
        return np.arange(n_users, dtype=np.int64)
    rows = check.int_array(users, "users")
    if rows.size and (rows.min() < 0 or rows.max() >= n_users):
        raise ValueError(f"users must lie in [0, {n_users}), found [{rows.min()}, {rows.max()}]")
    return rows


def _check_room(
    rows: NDArray[np.int64], excluded: sp.csr_array | None, n_items: int, k: int
) -> None:
    check.check_k(k, length=n_items, what="the catalog")
    if excluded is None:
        return
    left = n_items - np.diff(excluded.indptr)[rows]
    if rows.size and left.min() < k:
        user = rows[int(np.argmin(left))]
        raise ValueError(
            f"user {user} has only {left.min()} items left after exclusion, fewer than k={k}"
        )


def _check_chunk_size(chunk_size: int) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")


def _mask_positions(excluded: sp.csr_array | None, rows: NDArray[np.int64]) -> tuple[Any, Any]:
    if excluded is None:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    block = excluded[rows]
    return np.repeat(np.arange(rows.size), np.diff(block.indptr)), block.indices


def _fail_on_non_finite(
    values: NDArray[np.float64], rows: NDArray[np.int64], k: int, *, chosen: bool
) -> None:
    """Raise ValueError naming the first user whose selected scores are not all finite.

    NaN and +inf sort above every number in `torch.topk` and `np.argpartition`, so a row
    that holds one has it among its selected K + 1: checking those checks the whole row,
    with no pass over the full chunk. -inf (as an excluded item gets) is allowed unless
    it has to enter the top K (`chosen`).
    """
    bad = np.isnan(values) | (values == np.inf)
    if chosen:
        bad |= values == -np.inf
    if bad.any():
        user = rows[np.flatnonzero(bad.any(axis=1))[0]]
        if chosen and not (np.isnan(values) | (values == np.inf)).any():
            raise ValueError(f"user {user} has fewer than k={k} items with a score above -inf")
        raise ValueError(f"user {user} has a NaN or infinite score")


def _candidates(
    block: torch.Tensor | NDArray[Any], width: int
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Each row's `width` largest scores and their items, in no particular order."""
    if isinstance(block, torch.Tensor):
        values, items = torch.topk(block, width, dim=1, largest=True, sorted=False)
        return items.numpy().astype(np.int64), values.numpy().astype(np.float64)
    n = block.shape[1]
    part = np.argpartition(block, n - width, axis=1)[:, n - width :].astype(np.int64)
    return part, np.take_along_axis(block, part, axis=1).astype(np.float64)


def _stable_rows(rows: NDArray[Any], k: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The first k of a stable sort by descending score (the naive path)."""
    items = np.argsort(-rows, axis=1, kind="stable")[:, :k].astype(np.int64)
    return items, np.take_along_axis(rows, items, axis=1).astype(np.float64)


def _select(
    block: torch.Tensor | NDArray[Any], k: int, rows: NDArray[np.int64], backend: TopKBackend
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Exactly the first K of a stable sort by descending score, by `backend`.

    The fast backends take the K + 1 largest, order them by (score desc, item asc) and keep
    K: exact unless the (K+1)-th score equals the K-th, where more tied items may lie
    outside the K + 1; such (rare) rows are sorted in full.
    """
    if backend is TopKBackend.ARGSORT:
        if np.isnan(block).any():
            bad = np.flatnonzero(np.isnan(block).any(axis=1))[0]
            raise ValueError(f"user {rows[bad]} has a NaN or infinite score")
        items, values = _stable_rows(np.asarray(block), k)
        _fail_on_non_finite(values, rows, k, chosen=True)
        return items, values
    width = min(k + 1, block.shape[1])
    items, values = _candidates(block, width)
    _fail_on_non_finite(values, rows, k, chosen=False)
    order = np.lexsort((items, -values), axis=1)
    items = np.take_along_axis(items, order, axis=1)
    values = np.take_along_axis(values, order, axis=1)
    if width > k:
        tied = np.flatnonzero(values[:, k - 1] == values[:, k])
        if tied.size:
            block_rows = (
                block[torch.from_numpy(tied)].numpy()
                if isinstance(block, torch.Tensor)
                else block[tied]
            )
            items[tied, :k], values[tied, :k] = _stable_rows(block_rows, k)
    items, values = items[:, :k], values[:, :k]
    _fail_on_non_finite(values, rows, k, chosen=True)
    return items, values


def _run(
    chunk_scores: Callable[[NDArray[np.int64]], torch.Tensor | NDArray[Any]],
    *,
    rows: NDArray[np.int64],
    n_items: int,
    k: int,
    excluded: sp.csr_array | None,
    chunk_size: int,
    backend: TopKBackend,
    on_progress: Callable[[int], None] | None,
) -> TopK:
    items = np.empty((rows.size, k), dtype=np.int64)
    scores = np.empty((rows.size, k), dtype=np.float64)
    for start in range(0, rows.size, chunk_size):
        chunk = rows[start : start + chunk_size]
        block = chunk_scores(chunk)
        if tuple(block.shape) != (chunk.size, n_items):
            raise ValueError(
                f"scores of a chunk have shape {tuple(block.shape)}, expected {(chunk.size, n_items)}"
            )
        mask_rows, mask_cols = _mask_positions(excluded, chunk)
        if isinstance(block, torch.Tensor):
            block[torch.from_numpy(mask_rows), torch.from_numpy(mask_cols)] = -torch.inf
        else:
            block[mask_rows, mask_cols] = -np.inf
        top_items, top_scores = _select(block, k, chunk, backend)
        del block  # free this chunk's scores before the next is computed
        items[start : start + chunk.size] = top_items
        scores[start : start + chunk.size] = top_scores
        if on_progress is not None:
            on_progress(chunk.size)
    return TopK(users=rows, items=items, scores=scores)


def top_k_scores(
    score_fn: ScoreFn,
    *,
    n_users: int,
    n_items: int,
    k: int,
    exclude: Any = None,
    users: ArrayLike | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    backend: TopKBackend = TopKBackend.TORCH,
    on_progress: Callable[[int], None] | None = None,
) -> TopK:
    """Top-K items of each user (all, or `users`) from `score_fn(user_indices)`.

    score_fn returns (len(user_indices), n_items) float scores, all finite; an array it
    returns that is a view or read-only is copied before exclusion writes -inf into it.
    exclude: scipy sparse (n_users, n_items); its non-zero entries are never recommended.
    """
    _check_chunk_size(chunk_size)
    backend = TopKBackend(backend)
    rows = _user_rows(users, n_users)
    excluded = _exclusions(exclude, n_users, n_items)
    _check_room(rows, excluded, n_items, k)

    def chunk_scores(chunk: NDArray[np.int64]) -> torch.Tensor | NDArray[Any]:
        block = np.asarray(score_fn(chunk))
        if not np.issubdtype(block.dtype, np.floating):
            block = block.astype(np.float64)
        elif block.base is not None or not block.flags.writeable or not block.flags.c_contiguous:
            block = np.array(block, order="C")
        return torch.from_numpy(block) if backend is TopKBackend.TORCH else block

    return _run(
        chunk_scores,
        rows=rows,
        n_items=n_items,
        k=k,
        excluded=excluded,
        chunk_size=chunk_size,
        backend=backend,
        on_progress=on_progress,
    )


def top_k_dot(
    user_vectors: ArrayLike,
    item_vectors: ArrayLike,
    *,
    k: int,
    exclude: Any = None,
    users: ArrayLike | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    backend: TopKBackend = TopKBackend.TORCH,
    on_progress: Callable[[int], None] | None = None,
) -> TopK:
    """Top-K items by the dot product ``u . v`` (float32), users (n_users, d), items (n_items, d)."""
    user_array = check.float_array(user_vectors, "user_vectors", ndim=2)
    item_array = check.float_array(item_vectors, "item_vectors", ndim=2)
    if user_array.shape[1] != item_array.shape[1]:
        raise ValueError(
            f"user_vectors have {user_array.shape[1]} dimensions, item_vectors {item_array.shape[1]}"
        )
    _check_chunk_size(chunk_size)
    backend = TopKBackend(backend)
    n_users, n_items = user_array.shape[0], item_array.shape[0]
    rows = _user_rows(users, n_users)
    excluded = _exclusions(exclude, n_users, n_items)
    _check_room(rows, excluded, n_items, k)
    user_tensor = torch.from_numpy(user_array.astype(np.float32))
    item_tensor = torch.from_numpy(item_array.astype(np.float32))

    def chunk_scores(chunk: NDArray[np.int64]) -> torch.Tensor | NDArray[Any]:
        block = user_tensor[torch.from_numpy(chunk)] @ item_tensor.T
        return block if backend is TopKBackend.TORCH else block.numpy()

    return _run(
        chunk_scores,
        rows=rows,
        n_items=n_items,
        k=k,
        excluded=excluded,
        chunk_size=chunk_size,
        backend=backend,
        on_progress=on_progress,
    )


def _held_out(test: Any, shape: tuple[int, int]) -> sp.csr_array:
    if not sp.issparse(test):
        raise ValueError(f"test must be a scipy sparse matrix, got {type(test).__name__}")
    held_out = sp.csr_array(test)
    if held_out.shape != shape:
        raise ValueError(f"test has shape {held_out.shape}, expected (n_users, n_items) = {shape}")
    return held_out


def users_with_relevance(test: Any) -> NDArray[np.int64]:
    """The rows of a sparse (n_users, n_items) matrix that hold a stored entry."""
    if not sp.issparse(test):
        raise ValueError(f"test must be a scipy sparse matrix, got {type(test).__name__}")
    return np.flatnonzero(np.diff(sp.csr_array(test).indptr) > 0).astype(np.int64)


def evaluate_ranked(
    top: TopK,
    test: Any,
    *,
    ks: Sequence[int] = (10,),
    metrics: Sequence[Metric] = ALL_METRICS,
    gain: Gain = Gain.EXPONENTIAL,
    normalization: APNormalization = APNormalization.RELEVANT,
) -> RankingMetrics:
    """Metrics of a computed top-K against `test` (scipy sparse (n_users, n_items), graded);
    `users` and `n_skipped` of the result refer to all n_users rows of `test`."""
    if not ks:
        raise ValueError("ks is empty")
    if not sp.issparse(test):
        raise ValueError(f"test must be a scipy sparse matrix, got {type(test).__name__}")
    held_out = sp.csr_array(test)
    if top.users.size and top.users.max() >= held_out.shape[0]:
        raise ValueError(f"top ranks user {top.users.max()}, test has {held_out.shape[0]} rows")
    scored = batch_ranking_metrics(
        top.items,
        held_out[top.users],
        ks=ks,
        metrics=metrics,
        gain=gain,
        normalization=normalization,
    )
    return RankingMetrics(
        means=scored.means,
        per_user=scored.per_user,
        users=top.users[scored.users],
        n_skipped=held_out.shape[0] - scored.users.size,
    )


def evaluate_top_k(
    user_vectors: ArrayLike,
    item_vectors: ArrayLike,
    *,
    train: Any,
    test: Any,
    ks: Sequence[int] = (10,),
    metrics: Sequence[Metric] = ALL_METRICS,
    gain: Gain = Gain.EXPONENTIAL,
    normalization: APNormalization = APNormalization.RELEVANT,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    backend: TopKBackend = TopKBackend.TORCH,
    on_progress: Callable[[int], None] | None = None,
) -> TopKEvaluation:
    """Rank the full catalog by ``u . v`` for every user with a test item, excluding
    `train`, and score the top max(ks) against `test` (both scipy sparse
    (n_users, n_items); see `batch_ranking_metrics` for the metrics). For a scoring
    callable: `evaluate_ranked(top_k_scores(..., users=users_with_relevance(test)), test)`."""
    if not ks:
        raise ValueError("ks is empty")
    held_out = _held_out(test, (np.shape(user_vectors)[0], np.shape(item_vectors)[0]))
    top = top_k_dot(
        user_vectors,
        item_vectors,
        k=max(ks),
        exclude=train,
        users=users_with_relevance(held_out),
        chunk_size=chunk_size,
        backend=backend,
        on_progress=on_progress,
    )
    scored = evaluate_ranked(
        top, held_out, ks=ks, metrics=metrics, gain=gain, normalization=normalization
    )
    return TopKEvaluation(top=top, metrics=scored)
