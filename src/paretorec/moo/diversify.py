"""Post-hoc diversification: MMR and DPP re-ranking of a candidate set.

Both take the candidates' relevance (n,), their embeddings (n, d; cosine similarity is
used, rows need not be unit length but must not be zero) and a list length k ≤ n, and
return k distinct candidate indices, best first.

- MMR (Carbonell & Goldstein, 1998): greedily add the candidate maximizing
  ``λ rel_i - (1 - λ) max_{j ∈ S} cos(i, j)`` (λ = `trade_off`; the first pick is the
  most relevant).  O(n k d).
- DPP (Chen, Zhang & Zhou, NeurIPS 2018, "Fast greedy MAP inference for determinantal
  point process to improve recommendation diversity"): greedy MAP of the kernel
  ``L = diag(q) S diag(q)``, S the cosine similarities and ``q_i = exp(α rel_i)`` with
  ``α = θ / (2 (1 - θ))``, so that ``log det L_Y = (θ / (1 - θ)) Σ_{i∈Y} rel_i + log det
  S_Y`` trades relevance against diversity (θ = `theta`; θ = 1 is relevance order).  The
  greedy gain of i is ``log d_i²``, d_i² the conditional variance of i given the
  selection, kept by an incremental Cholesky factorization: after selecting j,
  ``e_i = (S_ji - ⟨c_j, c_i⟩) / d_j``, ``c_i ← [c_i, e_i]``, ``d_i² ← d_i² - e_i²``.
  Working with S (and adding ``2α rel_i``) instead of L avoids overflowing exp.
  O(n k d + n k²).  Once the selection spans the embeddings (d_i² ≤ 1e-10 for every
  remaining candidate: at most rank(S) items), the rest of the list is filled in
  relevance order.  `dpp_rerank_naive` recomputes ``log det`` of every candidate
  extension (O(n k⁴)): the reference and the speed baseline.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["dpp_rerank", "dpp_rerank_naive", "mmr_rerank"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

SPAN_EPSILON = 1e-10


def _inputs(relevance: ArrayLike, embeddings: ArrayLike, k: int) -> tuple[FloatArray, FloatArray]:
    r = np.asarray(relevance, dtype=np.float64)
    e = np.asarray(embeddings, dtype=np.float64)
    if r.ndim != 1 or r.size == 0:
        raise ValueError(f"relevance must be a non-empty vector, got shape {r.shape}")
    if e.ndim != 2 or e.shape[0] != r.size:
        raise ValueError(f"embeddings must be ({r.size}, d), got shape {e.shape}")
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(e))):
        raise ValueError("relevance and embeddings must be finite")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= r.size:
        raise ValueError(f"k must be an integer in [1, {r.size}], got {k!r}")
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("an embedding has zero norm: its cosine similarity is undefined")
    return r, e / norms


def _check_fraction(value: float, name: str) -> float:
    if not (isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def mmr_rerank(
    relevance: np.ndarray, embeddings: np.ndarray, k: int, *, trade_off: float
) -> np.ndarray:
    """Maximal marginal relevance: k indices in order (see the module docstring)."""
    r, e = _inputs(relevance, embeddings, k)
    lam = _check_fraction(trade_off, "trade_off")
    n = r.size
    chosen = np.zeros(n, dtype=bool)
    max_sim = np.full(n, -np.inf)
    out = np.empty(k, dtype=np.int64)
    for step in range(k):
        gain = r.copy() if step == 0 else lam * r - (1.0 - lam) * max_sim
        gain[chosen] = -np.inf
        j = int(np.argmax(gain))
        out[step] = j
        chosen[j] = True
        max_sim = np.maximum(max_sim, e @ e[j])
    return out


def _quality(r: FloatArray, theta: float) -> float:
    """``2α = θ / (1 - θ)``, the weight of relevance in the log-determinant."""
    return theta / (1.0 - theta)


def _fill(r: FloatArray, selected: list[int], k: int) -> IntArray:
    if len(selected) < k:
        taken = np.zeros(r.size, dtype=bool)
        taken[selected] = True
        rest = [int(i) for i in np.argsort(-r, kind="stable") if not taken[i]]
        selected = selected + rest[: k - len(selected)]
    return np.asarray(selected, dtype=np.int64)


def dpp_rerank(
    relevance: np.ndarray, embeddings: np.ndarray, k: int, *, theta: float
) -> np.ndarray:
    """Fast greedy DPP MAP inference: k indices in order (see the module docstring)."""
    r, e = _inputs(relevance, embeddings, k)
    theta = _check_fraction(theta, "theta")
    if theta == 1.0:
        return np.argsort(-r, kind="stable")[:k].astype(np.int64)
    weight = _quality(r, theta)
    n = r.size
    c = np.zeros((k, n))
    d2 = np.ones(n)  # diag of S for unit rows
    available = np.ones(n, dtype=bool)
    j = int(np.argmax(weight * r + np.log(d2)))
    selected = [j]
    while len(selected) < k:
        t = len(selected) - 1
        d_j = np.sqrt(d2[j])
        e_row = (e @ e[j] - c[:t].T @ c[:t, j]) / d_j
        c[t] = e_row
        d2 = d2 - e_row**2
        available[j] = False
        gain = np.where(
            available & (d2 > SPAN_EPSILON), weight * r + np.log(np.maximum(d2, 1e-300)), -np.inf
        )
        j = int(np.argmax(gain))
        if not np.isfinite(gain[j]):
            break
        selected.append(j)
    return _fill(r, selected, k)


def dpp_rerank_naive(
    relevance: np.ndarray, embeddings: np.ndarray, k: int, *, theta: float
) -> np.ndarray:
    """The same greedy MAP, each step scoring every candidate by ``log det`` of the
    extended selection from scratch."""
    r, e = _inputs(relevance, embeddings, k)
    theta = _check_fraction(theta, "theta")
    if theta == 1.0:
        return np.argsort(-r, kind="stable")[:k].astype(np.int64)
    weight = _quality(r, theta)
    s = e @ e.T
    selected: list[int] = []
    while len(selected) < k:
        best, best_gain = -1, -np.inf
        for i in range(r.size):
            if i in selected:
                continue
            rows = [*selected, i]
            sign, logdet = np.linalg.slogdet(s[np.ix_(rows, rows)])
            if sign <= 0:
                continue
            # the determinant of the selection is fixed this step: only i's term differs
            gain = weight * r[i] + logdet
            if gain > best_gain + 1e-12:
                best, best_gain = i, gain
        if best < 0 or _conditional_variance(s, selected, best) <= SPAN_EPSILON:
            break
        selected.append(best)
    return _fill(r, selected, k)


def _conditional_variance(s: FloatArray, selected: list[int], i: int) -> float:
    if not selected:
        return float(s[i, i])
    block = s[np.ix_(selected, selected)]
    cross = s[selected, i]
    return float(s[i, i] - cross @ np.linalg.solve(block, cross))
