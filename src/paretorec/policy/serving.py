"""Serving: a ranked list per request for a w given at request time, with explanations.

`rank` decodes greedily (or samples, with a seed) and explains each listed item's score as
the sum of its per-objective contributions: objective k's linked terms w_k * alpha_l *
z_{j,l} (its weight times a learned scale times the item's standardized prediction) plus
its head's part w_k r_k of the learned remainder. Contributions are relative to the
request: z is standardized over the candidates, so an item below the candidates' mean
for clicks gets a negative click part. A policy with one remainder head (trained with
`objective_heads=False`) cannot split its remainder and reports it as "interaction".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike

from paretorec.policy.inputs import FloatArray, IntArray, PolicyInput
from paretorec.policy.network import INTERACTION, Decoded, PreferencePolicy


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
    contributions = explain(policy, decoded)
    return RankedLists(
        items=decoded.lists.numpy().astype(np.int64),
        scores=decoded.scores.double().numpy(),
        contributions=contributions,
        log_prob=decoded.log_prob.double().numpy(),
    )


def explain(policy: PreferencePolicy, decoded: Decoded) -> dict[str, FloatArray]:
    """Each listed item's score split by objective ({name: (n, k)}, summing to the scores):
    linked terms plus the objective's head part; with one head, the remainder as
    "interaction"."""
    config = policy.config
    n, k = decoded.lists.shape
    parts = {objective: np.zeros((n, k)) for objective in config.objectives}
    for i, (objective, _) in enumerate(config.links):
        parts[objective] += decoded.contributions[:, :, i].double().numpy()
    if decoded.head_parts is None:
        parts[INTERACTION] = decoded.interaction.double().numpy()
    else:
        for i, objective in enumerate(config.objectives):
            parts[objective] += decoded.head_parts[:, :, i].double().numpy()
    return parts
