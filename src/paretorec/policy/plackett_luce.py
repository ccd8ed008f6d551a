"""Plackett-Luce over candidate scores, as pure torch functions.

A list a_1..a_k of distinct candidates has probability
prod_t exp(s_{a_t}) / sum_{j not in a_1..a_{t-1}} exp(s_j). Sampling uses the Gumbel
top-k trick (the k largest of s_j + Gumbel noise are a Plackett-Luce draw); greedy decoding
takes the k largest scores.
"""

from __future__ import annotations

import torch
from torch import Tensor


def gumbel(shape: tuple[int, ...], generator: torch.Generator | None, dtype: torch.dtype) -> Tensor:
    """Standard Gumbel noise -log(-log U), U in (0, 1), drawn from `generator`."""
    u = torch.rand(shape, generator=generator, dtype=dtype)
    tiny = torch.finfo(dtype).tiny
    return -torch.log(-torch.log(u.clamp(min=tiny, max=1.0 - 1e-7)))


def check_list_size(k: int, n_candidates: int) -> None:
    if n_candidates < 1:
        raise ValueError("a request needs at least one candidate, got zero candidates")
    if not 1 <= k <= n_candidates:
        raise ValueError(f"the list size must be between 1 and {n_candidates}, got {k}")


def pl_sample(scores: Tensor, k: int, generator: torch.Generator | None = None) -> Tensor:
    """A Plackett-Luce draw of `k` distinct candidates per row of `scores` (n, c): (n, k)."""
    check_list_size(k, scores.shape[1])
    noisy = scores.detach() + gumbel(tuple(scores.shape), generator, scores.dtype)
    return torch.topk(noisy, k, dim=1).indices


def pl_greedy(scores: Tensor, k: int) -> Tensor:
    """The `k` highest-scoring candidates per row, best first (ties: lower index first)."""
    check_list_size(k, scores.shape[1])
    order = torch.sort(scores.detach(), dim=1, descending=True, stable=True).indices
    return order[:, :k]


def pl_log_prob(scores: Tensor, lists: Tensor) -> Tensor:
    """log P(list) under Plackett-Luce with `scores` (n, c), lists (n, k): shape (n,)."""
    n, c = scores.shape
    k = lists.shape[1]
    check_list_size(k, c)
    placed = torch.zeros(n, c, dtype=torch.bool)
    total = scores.new_zeros(n)
    rows = torch.arange(n)
    for t in range(k):
        a = lists[:, t]
        left = scores.masked_fill(placed, float("-inf"))
        total = total + scores[rows, a] - torch.logsumexp(left, dim=1)
        placed = placed.clone()
        placed[rows, a] = True
    return total


def step_log_prob(scores: Tensor, placed: Tensor, chosen: Tensor) -> Tensor:
    """log softmax of `scores` (n, c) over the candidates not `placed`, at `chosen` (n,)."""
    left = scores.masked_fill(placed, float("-inf"))
    rows = torch.arange(scores.shape[0])
    return scores[rows, chosen] - torch.logsumexp(left, dim=1)


def top_k_multiplier(pi: Tensor, k: int) -> Tensor:
    """The top-K off-policy correction's lambda_K(pi) = K (1 - pi)^(K - 1), the derivative
    of alpha = 1 - (1 - pi)^K, the chance that an item is among K independent draws
    (Chen et al., WSDM 2019)."""
    if k < 1:
        raise ValueError(f"K must be at least 1, got {k}")
    return k * torch.pow(1.0 - pi, k - 1)
