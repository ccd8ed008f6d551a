"""Robust training losses: adversarial perturbation of embedding inputs (APR) and a
noise-robust loss for click labels.

- `embedding_perturbation` (Adversarial Personalized Ranking, He et al., SIGIR 2018):
  with L(e) the loss at the model's id embeddings e (user, item and the other hashed id
  fields), the worst-case perturbation of size `eps` of each embedding vector to first
  order is Delta_f = eps * g_f / ||g_f||, g_f = dL/de_f, one step per example and id
  field (APR normalizes per embedding vector); the text projections, position embedding
  and dense features are left alone. Training minimizes L(e) + `weight` * L(e + Delta)
  with Delta held fixed (`rank/train.py`), so a model trained so cannot be swung far by
  small moves of an id embedding (what a few fake interactions do).
- `adversarial_perturbation` / `adversarial_loss`: the same step on a whole
  representation z, normalized per row (FGM-style adversarial training, not APR: on the
  ranker's representation it would mostly move the dense features).
- `generalized_cross_entropy` (Zhang & Sabuncu, NeurIPS 2018): L_q = (1 - p_y^q) / q,
  with p_y the predicted probability of the observed label; q -> 0 is cross-entropy,
  q = 1 is the mean absolute error, which is robust to symmetric label noise (Ghosh et
  al., 2017) but slow to fit; q in between trades the two (the paper uses q = 0.7). For
  a soft label y in [0, 1] the loss is y L_q(1) + (1 - y) L_q(0).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn import functional as F

__all__ = [
    "adversarial_loss",
    "adversarial_perturbation",
    "embedding_perturbation",
    "generalized_cross_entropy",
]


def generalized_cross_entropy(logits: Tensor, labels: Tensor, q: float) -> Tensor:
    """Mean GCE of binary `logits` against `labels` in [0, 1] (module notes)."""
    if not 0.0 < q <= 1.0:
        raise ValueError(f"q must be in (0, 1], got {q}")
    log_p = F.logsigmoid(logits)  # log p(y = 1)
    log_not_p = F.logsigmoid(-logits)  # log p(y = 0)
    positive = -torch.expm1(q * log_p) / q  # (1 - p^q) / q, exact for small q
    negative = -torch.expm1(q * log_not_p) / q
    out: Tensor = (labels * positive + (1.0 - labels) * negative).mean()
    return out


def adversarial_perturbation(loss: Tensor, z: Tensor, eps: float) -> Tensor:
    """Delta = eps * g / ||g|| per row of `z` (g = d loss / d z), detached."""
    (grad,) = torch.autograd.grad(loss, z, retain_graph=True)
    norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12)
    shape = (-1,) + (1,) * (z.dim() - 1)
    delta: Tensor = (eps * grad / norm.view(shape)).detach()
    return delta


def embedding_perturbation(
    loss: Tensor, encoded: Tensor, *, n_vectors: int, dim: int, eps: float
) -> Tensor:
    """Delta of `encoded`'s shape: eps * g / ||g|| on each of the `n_vectors` embedding
    vectors of width `dim` in its first ``n_vectors * dim`` columns (g = d loss / d
    vector), zero on the other columns; detached."""
    (grad,) = torch.autograd.grad(loss, encoded, retain_graph=True)
    width = n_vectors * dim
    g = grad[:, :width].reshape(-1, n_vectors, dim)
    step = eps * g / g.norm(dim=2, keepdim=True).clamp_min(1e-12)
    delta = torch.zeros_like(encoded)
    delta[:, :width] = step.reshape(-1, width)
    return delta.detach()


def adversarial_loss(
    loss_of: Callable[[Tensor], Tensor], z: Tensor, *, eps: float, weight: float
) -> tuple[Tensor, Tensor]:
    """(clean loss, clean + weight * adversarial loss) of `loss_of` at the representation
    `z` (which must require grad: the output of the model's embedding layer)."""
    if eps < 0 or weight < 0:
        raise ValueError(f"eps and weight must be >= 0, got {eps} and {weight}")
    clean = loss_of(z)
    if eps == 0 or weight == 0:
        return clean, clean
    delta = adversarial_perturbation(clean, z, eps)
    return clean, clean + weight * loss_of(z + delta)
