"""Serving: a ranked list per request for a w given at request time, with explanations.

`rank` decodes greedily (or samples, with a seed) and explains each listed item's score as
the sum of its per-objective contributions w_k * alpha_k * z_{j,k} (the objective's weight
times the learned scale times the item's standardized prediction for it) and the learned
remainder ("interaction": how w, the context, the item's features and, for the list-aware
policy, the items above it move the score beyond those terms).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike

from paretorec.policy.inputs import FloatArray, IntArray, PolicyInput
from paretorec.policy.network import INTERACTION, PreferencePolicy


@dataclass(frozen=True)
class RankedLists:
    """Lists for n requests, (n, k) candidate indices best first, and per listed item its
    score and its contributions by name ({name: (n, k)}, summing to the score)."""

    items: IntArray
    scores: FloatArray
    contributions: dict[str, FloatArray]
    log_prob: FloatArray  # (n,) log-probability of each list under the policy


def rank(
    policy: PreferencePolicy,
    inputs: PolicyInput,
    weights: ArrayLike,
    k: int,
    *,
    sample: bool = False,
    seed: int = 0,
) -> RankedLists:
    """The policy's lists for `inputs` under `weights` (one vector for all requests, or
    one row each): greedy, or sampled from `seed` with `sample`."""
    batch = policy.batch(inputs, np.asarray(weights, dtype=np.float64))
    generator = torch.Generator().manual_seed(seed) if sample else None
    with torch.no_grad():
        decoded = policy.decode(batch, k, greedy=not sample, generator=generator)
    contributions = {
        objective: decoded.contributions[:, :, i].double().numpy()
        for i, (objective, _) in enumerate(policy.config.links)
    }
    contributions[INTERACTION] = decoded.interaction.double().numpy()
    return RankedLists(
        items=decoded.lists.numpy().astype(np.int64),
        scores=decoded.scores.double().numpy(),
        contributions=contributions,
        log_prob=decoded.log_prob.double().numpy(),
    )
