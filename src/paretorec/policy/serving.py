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

from dataclasses import dataclass, field

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
    # {objective: (n, k)} places each objective moved a listed item up (its position
    # without the objective's part minus its position; negative: moved down). Empty where
    # the policy cannot say (list-aware, or one remainder head).
    places: dict[str, IntArray] = field(default_factory=dict)


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
    items = decoded.lists.numpy().astype(np.int64)
    return RankedLists(
        items=items,
        scores=decoded.scores.double().numpy(),
        contributions=contributions,
        log_prob=decoded.log_prob.double().numpy(),
        places=places_moved(policy, decoded, items),
    )


def places_moved(
    policy: PreferencePolicy, decoded: Decoded, items: IntArray
) -> dict[str, IntArray]:
    """{objective: (n, k)} how many places each objective moved each listed item up."""
    if decoded.ranks_without is None:
        return {}
    without = decoded.ranks_without.numpy()
    here = np.arange(items.shape[1])[None, :]
    return {
        objective: np.take_along_axis(without[:, :, i], items, axis=1) - here
        for i, objective in enumerate(policy.config.objectives)
    }


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
