"""Logging policies: lists without repeats and exact propensities."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from paretorec.simulate import (
    Observation,
    RankingEnv,
    SoftmaxPolicy,
    UniformRandomPolicy,
    generate_world,
)


@pytest.fixture(scope="module")
def obs() -> Observation:
    world = generate_world(3000, 500, seed=21)
    return RankingEnv(world, n_sessions=400, list_size=10).reset(seed=0)


def test_uniform_policy_lists_and_propensities(obs: Observation) -> None:
    policy = UniformRandomPolicy()
    ranking = policy.sample(obs, 10, np.random.default_rng(0))
    c = obs.n_candidates
    assert ranking.actions.shape == (400, 10)
    srt = np.sort(ranking.actions, axis=1)
    assert not (srt[:, 1:] == srt[:, :-1]).any()
    assert ranking.actions.min() >= 0 and ranking.actions.max() < c
    np.testing.assert_allclose(ranking.propensities[0], 1.0 / (c - np.arange(10)))
    assert ((ranking.propensities > 0) & (ranking.propensities <= 1)).all()
    first = policy.first_slot_probabilities(obs)
    np.testing.assert_allclose(first.sum(axis=1), 1.0)
    np.testing.assert_allclose(ranking.list_propensities, np.prod(1.0 / (c - np.arange(10))))


def test_uniform_policy_is_uniform_at_every_position(obs: Observation) -> None:
    rng = np.random.default_rng(1)
    counts = np.zeros((3, obs.n_candidates))
    for _ in range(50):
        a = UniformRandomPolicy().sample(obs, 3, rng).actions
        for k in range(3):
            counts[k] += np.bincount(a[:, k], minlength=obs.n_candidates)
    freq = counts / counts.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(freq, 1.0 / obs.n_candidates, atol=0.004)


def test_softmax_propensities_are_exact_plackett_luce(obs: Observation) -> None:
    """With 4 candidates and fixed scores, the product of the logged propensities is the
    Plackett-Luce probability of the list, and the sampled lists occur that often."""
    world = generate_world(4, 3, seed=0)
    tiny = RankingEnv(world, n_sessions=40_000, list_size=2).reset(seed=1)
    logits = np.array([1.5, 0.0, -1.0, 0.5])
    policy = SoftmaxPolicy(temperature=1.0, score=lambda o: np.tile(logits, (o.n_sessions, 1)))
    ranking = policy.sample(tiny, 2, np.random.default_rng(3))
    w = np.exp(logits)

    def pl_prob(i: int, j: int) -> float:
        return float(w[i] / w.sum() * w[j] / (w.sum() - w[i]))

    total = 0.0
    for i, j in itertools.permutations(range(4), 2):
        total += pl_prob(i, j)
        hit = (ranking.actions[:, 0] == i) & (ranking.actions[:, 1] == j)
        if hit.any():
            np.testing.assert_allclose(ranking.list_propensities[hit], pl_prob(i, j))
        assert hit.mean() == pytest.approx(pl_prob(i, j), abs=0.008)
    assert total == pytest.approx(1.0)
    np.testing.assert_allclose(policy.first_slot_probabilities(tiny)[0], w / w.sum())


def test_softmax_over_heuristic_scores(obs: Observation) -> None:
    policy = SoftmaxPolicy(temperature=0.5)
    ranking = policy.sample(obs, 10, np.random.default_rng(4))
    assert ((ranking.propensities > 0) & (ranking.propensities <= 1)).all()
    np.testing.assert_allclose(policy.first_slot_probabilities(obs).sum(axis=1), 1.0)
    srt = np.sort(ranking.actions, axis=1)
    assert not (srt[:, 1:] == srt[:, :-1]).any()
    # the top slot favours the query's category in search sessions
    match = obs.features.leaf_match
    top = np.take_along_axis(match, ranking.actions[:, :1], axis=1)[:, 0]
    assert top[obs.is_search].mean() > match[obs.is_search].mean()


def test_policy_arguments_are_checked(obs: Observation) -> None:
    with pytest.raises(ValueError, match="temperature"):
        SoftmaxPolicy(temperature=0.0)
    with pytest.raises(ValueError, match="list_size"):
        UniformRandomPolicy().sample(obs, obs.n_candidates + 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="scores must have shape"):
        SoftmaxPolicy(score=lambda o: np.zeros(3)).sample(obs, 2, np.random.default_rng(0))
