"""Combining the per-task losses: fixed weights, uncertainty weighting, MGDA-UB.

- Fixed: sum_t w_t L_t.
- Uncertainty (Kendall, Gal & Cipolla, CVPR 2018): each task has a learned log variance
  s_t; the loss is sum_t exp(-s_t) L_t + s_t / 2 (the classification form), so a noisy
  task is down-weighted and the weights cannot collapse to zero.
- MGDA-UB (Sener & Koltun, NeurIPS 2018): the weights are the min-norm point of the
  convex hull of the task gradients taken on the shared representation Z (the "upper
  bound" variant: one backward pass per task through the heads only, not through the
  shared parameters). The weighted gradient is a common descent direction for every
  task when one exists, so a task is never improved at another's expense unnoticed:
  the conflict shows in the weights. The gradients are scaled to unit length first
  (Sener & Koltun's "l2" normalization): unnormalized, the task with the smallest
  gradient (a rare, well-fitted stage such as purchase) takes all the weight and the
  others stop learning. The weights sum to 1; the trainer multiplies the loss by the
  number of tasks to keep its scale comparable to the fixed sum.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

MAX_EXACT_TASKS = 10
MAX_ITERATIONS = 1000
TOLERANCE = 1e-8


class UncertaintyWeights(nn.Module):
    """Learned log variances, one per task, starting at 0 (weight 1)."""

    def __init__(self, tasks: tuple[str, ...]) -> None:
        super().__init__()
        self.tasks = tasks
        self.log_vars = nn.Parameter(torch.zeros(len(tasks)))

    def forward(self, losses: dict[str, Tensor]) -> Tensor:
        stacked = torch.stack([losses[t] for t in self.tasks])
        total: Tensor = (torch.exp(-self.log_vars) * stacked + 0.5 * self.log_vars).sum()
        return total

    def weights(self) -> dict[str, float]:
        w = torch.exp(-self.log_vars.detach())
        return {t: float(x) for t, x in zip(self.tasks, w, strict=True)}


def fixed_loss(losses: dict[str, Tensor], weights: dict[str, float]) -> Tensor:
    return torch.stack([weights[t] * losses[t] for t in losses]).sum()


def _segment_minimizer(aa: float, ab: float, bb: float) -> float:
    """gamma in [0, 1] minimizing |gamma a + (1 - gamma) b|^2 given the dot products."""
    denominator = aa - 2.0 * ab + bb
    if denominator <= TOLERANCE:
        return 0.5
    return float(np.clip((bb - ab) / denominator, 0.0, 1.0))


def _support_solution(m: NDArray[np.float64], support: tuple[int, ...]) -> NDArray[np.float64]:
    """The minimizer of w^T M w on the affine set sum(w) = 1 over `support` (KKT system,
    least squares so that a singular M still gives a solution)."""
    k = len(support)
    kkt = np.zeros((k + 1, k + 1))
    kkt[:k, :k] = 2.0 * m[np.ix_(support, support)]
    kkt[:k, k] = kkt[k, :k] = 1.0
    rhs = np.zeros(k + 1)
    rhs[k] = 1.0
    solution = np.asarray(np.linalg.lstsq(kkt, rhs, rcond=None)[0][:k], dtype=np.float64)
    return solution


def min_norm_weights(gram: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weights w on the simplex minimizing |sum_t w_t g_t|^2, from the Gram matrix
    G[i, j] = g_i . g_j of the task gradients.

    Exact for up to `MAX_EXACT_TASKS` tasks: the optimum lies on some face of the
    simplex, so every support is solved in closed form and the best feasible one kept
    (2^T - 1 small solves). Beyond that, Frank-Wolfe from the uniform weights.
    """
    m = np.asarray(gram, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise ValueError(f"gram must be a non-empty square matrix, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError("gram has non-finite entries (a task gradient overflowed)")
    t = m.shape[0]
    if t > MAX_EXACT_TASKS:
        return _frank_wolfe(m)
    best, best_w = np.inf, np.full(t, 1.0 / t)
    for size in range(1, t + 1):
        for support in itertools.combinations(range(t), size):
            ws = _support_solution(m, support)
            if ws.min() < -1e-12:
                continue
            w = np.zeros(t)
            w[list(support)] = np.clip(ws, 0.0, None)
            w /= w.sum()
            cost = float(w @ m @ w)
            if cost < best - 1e-15:
                best, best_w = cost, w
    return best_w


def _frank_wolfe(m: NDArray[np.float64]) -> NDArray[np.float64]:
    w = np.full(m.shape[0], 1.0 / m.shape[0])
    for _ in range(MAX_ITERATIONS):
        mw = m @ w
        k = int(np.argmin(mw))
        gamma = _segment_minimizer(float(m[k, k]), float(mw[k]), float(w @ mw))  # on e_k
        new = (1.0 - gamma) * w
        new[k] += gamma
        if np.abs(new - w).sum() < TOLERANCE:
            return new
        w = new
    return w


def mgda_weights(gradients: dict[str, Tensor]) -> dict[str, float]:
    """MGDA-UB weights from each task's gradient on the shared representation, each
    gradient scaled to unit length (a zero gradient stays zero)."""
    tasks = tuple(gradients)
    flat = torch.stack([gradients[t].detach().flatten().double() for t in tasks])
    flat = flat / flat.norm(dim=1, keepdim=True).clamp(min=1e-12)
    w = min_norm_weights((flat @ flat.T).cpu().numpy())
    return {task: float(x) for task, x in zip(tasks, w, strict=True)}
