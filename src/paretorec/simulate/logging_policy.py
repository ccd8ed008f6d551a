"""Logging policies that write impressions with exact propensities.

A policy samples a ranked list from each session's candidates, Plackett-Luce style: the
item at position k is drawn from the candidates not yet placed. `propensity` is that
draw's exact probability, pi(a_k | context, a_1..a_{k-1}); the product over positions
1..k is the probability of the list's top k, and over the whole list the probability of
the list. For the uniform policy it is 1 / (n_candidates - k + 1) (at the first slot
1 / n_candidates, like the Open Bandit Dataset's random policy, whose position-wise
marginal is 1 / n_candidates at every slot).

`policy_value` gives a policy's true expected value from the simulator's exact
per-list expectations, so an off-policy estimate can be checked against it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import numpy as np

from paretorec.simulate._arrays import FloatArray, IntArray
from paretorec.simulate.behaviour import FEEDBACK_NAMES
from paretorec.simulate.env import Observation, RankingEnv


class LoggingPolicyKind(StrEnum):
    UNIFORM = "uniform"  # uniformly random lists, like OBD's "random" campaign
    SOFTMAX = "softmax"  # Plackett-Luce over `heuristic_scores` / temperature


@dataclass(frozen=True)
class SampledRanking:
    """Ranked lists with the policy's probability of each placement, shape (n, list_size)."""

    actions: IntArray  # indices into the candidates, best first
    propensities: FloatArray  # pi(a_k | context, a_1..a_{k-1}), in (0, 1]

    @property
    def list_propensities(self) -> FloatArray:
        """Probability of each whole list, shape (n,)."""
        out: FloatArray = self.propensities.prod(axis=1)
        return out


class Policy(Protocol):
    """Anything that samples ranked lists for a batch of sessions."""

    def sample(
        self, obs: Observation, list_size: int, rng: np.random.Generator
    ) -> SampledRanking: ...


def _check_list_size(obs: Observation, list_size: int) -> None:
    if not 1 <= list_size <= obs.n_candidates:
        raise ValueError(
            f"list_size must be between 1 and the {obs.n_candidates} candidates, got {list_size}"
        )


@dataclass(frozen=True)
class UniformRandomPolicy:
    """Every ordering of `list_size` distinct candidates is equally likely."""

    def sample(self, obs: Observation, list_size: int, rng: np.random.Generator) -> SampledRanking:
        _check_list_size(obs, list_size)
        n, c = obs.n_sessions, obs.n_candidates
        actions = np.argsort(rng.random((n, c)), axis=1)[:, :list_size].astype(np.int64)
        per_slot = 1.0 / (c - np.arange(list_size, dtype=np.float64))
        return SampledRanking(actions=actions, propensities=np.tile(per_slot, (n, 1)))

    def first_slot_probabilities(self, obs: Observation) -> FloatArray:
        """pi(item at position 1), shape (n, n_candidates): 1 / n_candidates."""
        return np.full(obs.candidates.shape, 1.0 / obs.n_candidates)


def heuristic_scores(obs: Observation) -> FloatArray:
    """A plausible production ranker's score from observable features only: query match,
    popularity and rating (it knows nothing of the shopper's latent tastes)."""
    f = obs.features
    out: FloatArray = (
        2.0 * f.leaf_match
        + 0.7 * f.department_match
        + 0.8 * f.brand_match
        + 0.4 * f.attribute_match
        + 0.5 * f.popularity_z
        + 0.3 * (f.rating - 4.0)
        - 1.0 * ~f.in_stock
    )
    return out


@dataclass(frozen=True)
class SoftmaxPolicy:
    """Plackett-Luce over `score(obs) / temperature`: sampled with the Gumbel top-k trick,
    propensities computed exactly, one position at a time."""

    temperature: float = 1.0
    score: Callable[[Observation], FloatArray] = heuristic_scores

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")

    def logits(self, obs: Observation) -> FloatArray:
        s = np.asarray(self.score(obs), dtype=np.float64) / self.temperature
        if s.shape != obs.candidates.shape:
            raise ValueError(f"scores must have shape {obs.candidates.shape}, got {s.shape}")
        out: FloatArray = s - s.max(axis=1, keepdims=True)
        return out

    def first_slot_probabilities(self, obs: Observation) -> FloatArray:
        """pi(item at position 1), shape (n, n_candidates): the softmax of the logits."""
        w = np.exp(self.logits(obs))
        out: FloatArray = w / w.sum(axis=1, keepdims=True)
        return out

    def sample(self, obs: Observation, list_size: int, rng: np.random.Generator) -> SampledRanking:
        _check_list_size(obs, list_size)
        logits = self.logits(obs)
        gumbel = -np.log(-np.log(rng.random(logits.shape)))
        actions = np.argsort(-(logits + gumbel), axis=1)[:, :list_size].astype(np.int64)
        # log-space softmax over the candidates not yet placed: exact even when a low
        # temperature makes all but one weight underflow
        left = logits.copy()
        rows = np.arange(logits.shape[0])
        props = np.empty(actions.shape)
        for k in range(list_size):
            top = left.max(axis=1, keepdims=True)
            log_z = top[:, 0] + np.log(np.exp(left - top).sum(axis=1))
            chosen = actions[:, k]
            props[:, k] = np.exp(left[rows, chosen] - log_z)
            left[rows, chosen] = -np.inf
        return SampledRanking(actions=actions, propensities=np.clip(props, 1e-300, 1.0))


def make_policy(kind: LoggingPolicyKind, temperature: float = 1.0) -> Policy:
    if kind is LoggingPolicyKind.UNIFORM:
        return UniformRandomPolicy()
    return SoftmaxPolicy(temperature=temperature)


def policy_value(
    env: RankingEnv, policy: Policy, *, n_samples: int = 1, rng: np.random.Generator
) -> dict[str, float]:
    """The expected per-session value of each objective (first list of the sessions now in
    `env`), averaging the exact expectation of `n_samples` lists drawn from `policy` per
    session; exact for a deterministic policy. The environment's state is not changed."""
    obs = env.observation
    totals = dict.fromkeys(FEEDBACK_NAMES, 0.0)
    for _ in range(n_samples):
        ranking = policy.sample(obs, env.list_size, rng)
        for name, value in env.expected_feedback(ranking.actions).mean().items():
            totals[name] += value / n_samples
    return totals
