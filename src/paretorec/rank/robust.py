"""Robust training losses: adversarial perturbation of embedding inputs (APR) and a
noise-robust loss for click labels.

- `adversarial_loss` (Adversarial Personalized Ranking, He et al., SIGIR 2018): with
  L(z) the loss of the representation z that the model's embedding layer produced, the
  worst-case perturbation of size `eps` to first order is the fast gradient sign/norm
  step Delta = eps * g / ||g||, g = dL/dz (normalized per example, as APR normalizes per
  embedding vector), and training minimizes L(z) + `weight` * L(z + Delta) with Delta
  held fixed. A model trained so cannot be swung far by small changes of its inputs'
  embeddings (a few fake interactions moving an id embedding). Any model that can split
  `represent` from `heads` can use it: the ranker here, a two-tower's user or item
  vector.
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

__all__ = ["adversarial_loss", "adversarial_perturbation", "generalized_cross_entropy"]


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
