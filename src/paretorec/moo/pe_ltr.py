"""PE-LTR: Pareto-efficient learning to rank (Lin et al., RecSys 2019).

A linear scorer ``s = X θ`` over each request's candidate features (the per-objective
signals) is trained with one differentiable loss per objective; at every step the
objectives' gradients g_k are combined with the weights w that the PECsolver finds,
``θ ← θ - lr Σ_k w_k g_k``, where the weights satisfy the KKT conditions of the
Pareto-stationarity problem with lower bounds c on each weight:

    min_w ‖Σ_k w_k g_k‖²   s.t.  Σ_k w_k = 1,  w_k ≥ c_k.

PECsolver (the paper's Algorithm 2): substitute w = ŵ + c, drop ŵ ≥ 0 and solve the
relaxed problem ``min ‖Gᵀ(ŵ + c)‖² s.t. Σ ŵ = 1 - Σ c`` in closed form from its KKT
system ``[[2GGᵀ, 1], [1ᵀ, 0]] [ŵ; λ] = [-2GGᵀc; 1 - Σc]`` (least squares where GGᵀ is
singular), then project ŵ onto ``{ŵ ≥ 0, Σ ŵ = 1 - Σ c}``, the small QP
``min ‖ŵ' - ŵ‖²`` whose exact solution is a sorted threshold (Duchi et al., 2008).
Varying the bounds c (``c = bound_scale × u`` over a lattice of u) traces a front.

Losses, per request with ``p = softmax(s)``:
- an item-level objective k (NDCG, clicks, revenue, ...): ListNet cross-entropy
  ``-Σ_i q_i log p_i`` to ``q = softmax(signal_k / temperature)``;
- a set-level objective (diversity): the expected similarity of two items drawn from p,
  ``pᵀ K p`` with K the candidates' clipped cosine similarities ``max(0, cos)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from paretorec.moo.problem import RankingProblem
from paretorec.moo.tradeoff import TradeoffResult, make_result
from paretorec.preference import simplex_lattice

__all__ = [
    "PeLtrConfig",
    "PeLtrModel",
    "pe_ltr_front",
    "pec_solve",
    "project_to_simplex",
    "train_pe_ltr",
]

FloatArray = NDArray[np.float64]
Progress = Callable[[int], None]


def project_to_simplex(x: ArrayLike, total: float = 1.0) -> FloatArray:
    """Euclidean projection of x onto ``{y ≥ 0, Σ y = total}`` (total ≥ 0)."""
    v = np.asarray(x, dtype=np.float64)
    if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
        raise ValueError(f"x must be a non-empty finite vector, got {v!r}")
    if not (np.isfinite(total) and total >= 0):
        raise ValueError(f"total must be >= 0, got {total}")
    if total == 0:
        return np.zeros_like(v)
    u = np.sort(v)[::-1]
    cumulative = np.cumsum(u) - total
    rho = int(np.nonzero(u * np.arange(1, v.size + 1) > cumulative)[0][-1])
    tau = cumulative[rho] / (rho + 1)
    out: FloatArray = np.maximum(v - tau, 0.0)
    return out


def pec_solve(gradients: ArrayLike, lower_bounds: ArrayLike) -> FloatArray:
    """The PECsolver's weights (m,) for objective gradients (m, d) and bounds c (m,)
    with ``c ≥ 0, Σ c ≤ 1``; the weights are ≥ c and sum to 1."""
    g = np.asarray(gradients, dtype=np.float64)
    c = np.asarray(lower_bounds, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] == 0 or not np.all(np.isfinite(g)):
        raise ValueError(f"gradients must be a finite (m, d) array, got shape {g.shape}")
    m = g.shape[0]
    if c.shape != (m,) or not np.all(np.isfinite(c)):
        raise ValueError(f"lower_bounds must be {m} finite value(s), got {c!r}")
    if np.any(c < 0) or c.sum() > 1 + 1e-12:
        raise ValueError(f"lower_bounds must be >= 0 and sum to at most 1, got {c.tolist()}")
    slack = max(0.0, 1.0 - float(c.sum()))
    gram = g @ g.T
    kkt = np.zeros((m + 1, m + 1))
    kkt[:m, :m] = 2.0 * gram
    kkt[:m, m] = 1.0
    kkt[m, :m] = 1.0
    rhs = np.concatenate([-2.0 * gram @ c, [slack]])
    solution = np.linalg.lstsq(kkt, rhs, rcond=None)[0]
    free = project_to_simplex(solution[:m], slack)
    out: FloatArray = free + c
    return out


@dataclass(frozen=True)
class PeLtrConfig:
    """Training hyperparameters: `n_steps` gradient steps of size `learning_rate` on
    mini-batches of `batch_size` requests; ListNet targets at `temperature`."""

    n_steps: int = 60
    learning_rate: float = 0.5
    batch_size: int = 64
    temperature: float = 0.1

    def __post_init__(self) -> None:
        if self.n_steps < 1 or self.batch_size < 1:
            raise ValueError("n_steps and batch_size must be >= 1")
        if not (self.learning_rate > 0 and self.temperature > 0):
            raise ValueError("learning_rate and temperature must be > 0")


@dataclass(frozen=True, eq=False)
class PeLtrModel:
    """The trained scorer's weights θ (one per feature), the last PEC weights and the
    per-objective losses at each step (n_steps, m)."""

    theta: FloatArray
    objective_weights: FloatArray
    losses: FloatArray


def _softmax(s: FloatArray) -> FloatArray:
    z = np.exp(s - s.max())
    out: FloatArray = z / z.sum()
    return out


def _request_terms(
    x: FloatArray,
    theta: FloatArray,
    similarity: FloatArray | None,
    set_level: tuple[bool, ...],
    temperature: float,
) -> tuple[FloatArray, FloatArray]:
    """Per-objective losses (m,) and gradients with respect to θ (m, d)."""
    p = _softmax(x @ theta)
    m = x.shape[1]
    losses = np.empty(m)
    grads = np.empty((m, theta.size))
    for k in range(m):
        if set_level[k]:
            if similarity is None:
                raise ValueError("a set-level objective needs candidate embeddings")
            kp = similarity @ p
            value = float(p @ kp)
            grad_s = 2.0 * p * (kp - value)
        else:
            q = _softmax(x[:, k] / temperature)
            value = float(-(q * np.log(np.maximum(p, 1e-300))).sum())
            grad_s = p - q
        losses[k] = value
        grads[k] = x.T @ grad_s
    return losses, grads


def train_pe_ltr(
    problem: RankingProblem,
    *,
    lower_bounds: ArrayLike,
    config: PeLtrConfig,
    seed: int,
) -> PeLtrModel:
    """Train the linear scorer with PECsolver-weighted gradients (module docstring)."""
    c = np.asarray(lower_bounds, dtype=np.float64)
    m = problem.n_objectives
    set_level = problem.set_level
    if any(set_level):
        problem.require_embeddings("PE-LTR's diversity loss")
    similarity = [
        None if r.embeddings is None else np.maximum(r.embeddings @ r.embeddings.T, 0.0)
        for r in problem.requests
    ]
    rng = np.random.default_rng(seed)
    theta = np.full(m, 1.0 / m)
    weights = np.full(m, 1.0 / m)
    history = np.empty((config.n_steps, m))
    n = len(problem.requests)
    for step in range(config.n_steps):
        batch = rng.choice(n, size=min(config.batch_size, n), replace=False)
        losses = np.zeros(m)
        grads = np.zeros((m, m))
        for i in batch:
            x = problem.requests[i].signals
            loss, grad = _request_terms(x, theta, similarity[i], set_level, config.temperature)
            losses += loss
            grads += grad
        losses /= len(batch)
        grads /= len(batch)
        history[step] = losses
        weights = pec_solve(grads, c)
        theta = theta - config.learning_rate * (weights @ grads)
    return PeLtrModel(theta=theta, objective_weights=weights, losses=history)


def pe_ltr_front(
    problem: RankingProblem,
    *,
    budget: int,
    bound_scale: float = 0.8,
    config: PeLtrConfig | None = None,
    seed: int = 0,
    on_progress: Progress | None = None,
) -> TradeoffResult:
    """One PE-LTR model per bound vector ``c = bound_scale × u`` (u over the simplex
    lattice that fits `budget`), each evaluated once: the parameters are the scorer's
    weights θ scaled to sum 1 in absolute value (``<objective>``) and the bounds
    (``lb_<objective>``)."""
    if not 0 <= bound_scale <= 1:
        raise ValueError(f"bound_scale must be in [0, 1], got {bound_scale}")
    config = config or PeLtrConfig()
    lattice = simplex_lattice(problem.n_objectives, budget)
    params = np.empty((len(lattice), 2 * problem.n_objectives))
    values = np.empty((len(lattice), problem.n_objectives))
    for i, u in enumerate(lattice):
        bounds = bound_scale * u
        model = train_pe_ltr(problem, lower_bounds=bounds, config=config, seed=seed + i)
        theta = model.theta

        def score(request_signals: FloatArray, theta: FloatArray = theta) -> FloatArray:
            out: FloatArray = request_signals @ theta
            return out

        values[i] = problem.evaluate(problem.rank_by(lambda r: score(r.signals)))
        scale = float(np.abs(theta).sum()) or 1.0
        params[i] = np.concatenate([theta / scale, bounds])
        if on_progress is not None:
            on_progress(1)
    names = (*problem.names, *(f"lb_{n}" for n in problem.names))
    return make_result("pe-ltr", problem.names, problem.directions, names, params, values)
