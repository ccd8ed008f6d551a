"""Logging policies: lists without repeats, exact propensities given the items above, and
marginal propensities (exact, or to the numerical integration's 1e-8)."""

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
    plackett_luce_marginals,
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
    given_above = ranking.propensities_given_above
    np.testing.assert_allclose(given_above[0], 1.0 / (c - np.arange(10)))
    assert ((given_above > 0) & (given_above <= 1)).all()
    # the marginal of every placement is exactly 1 / n_candidates, as in the Open Bandit
    # Dataset's random campaign
    assert ranking.marginal_propensities.shape == (400, 10)
    assert (ranking.marginal_propensities == 1.0 / c).all()
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
    # the marginals: P(i at 1) = w_i / W, P(j at 2) = sum over i != j of pl_prob(i, j)
    first = w / w.sum()
    second = [sum(pl_prob(i, j) for i in range(4) if i != j) for j in range(4)]
    a = ranking.actions
    np.testing.assert_allclose(ranking.marginal_propensities[:, 0], first[a[:, 0]], rtol=1e-12)
    np.testing.assert_allclose(ranking.marginal_propensities[:, 1], np.array(second)[a[:, 1]])
    np.testing.assert_allclose(ranking.propensities_given_above[:, 0], first[a[:, 0]])


def test_softmax_over_heuristic_scores(obs: Observation) -> None:
    policy = SoftmaxPolicy(temperature=0.5)
    ranking = policy.sample(obs, 10, np.random.default_rng(4))
    for props in (ranking.propensities_given_above, ranking.marginal_propensities):
        assert ((props > 0) & (props <= 1)).all()
    # at the first position the marginal is the probability given (no) items above
    np.testing.assert_allclose(
        ranking.marginal_propensities[:, 0], ranking.propensities_given_above[:, 0], rtol=1e-12
    )
    # further down, a likely item is likelier to have been placed above: its marginal is
    # below its probability given the items above, on average
    assert (
        ranking.marginal_propensities[:, 1:] < ranking.propensities_given_above[:, 1:]
    ).mean() > 0.5
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


def _enumerate_marginals(logits: np.ndarray, n_ranks: int) -> np.ndarray:
    """P(item at rank r + 1) by summing the Plackett-Luce probability of every list of
    `n_ranks` distinct items (in log space, so that extreme logits stay exact)."""
    c = len(logits)
    out = np.zeros((c, n_ranks))
    for perm in itertools.permutations(range(c), n_ranks):
        left = list(range(c))
        log_p = 0.0
        for a in perm:
            rest = logits[left]
            top = rest.max()
            log_p += logits[a] - top - np.log(np.exp(rest - top).sum())
            left.remove(a)
        for k, a in enumerate(perm):
            out[a, k] += np.exp(log_p)
    return out


LOGIT_CASES = [
    np.array([1.5, 0.0, -1.0, 0.5]),
    np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),  # uniform
    np.array([2.0, 2.0, -1.0, -1.0, 0.0]),  # ties
    np.array([0.3, -0.2, 0.1]),
    np.array([0.0, -40.0, -80.0, -120.0, -5.0, -45.0]),  # near-greedy, widely spread
    np.array([0.0, -800.0, -1600.0, -2400.0]),  # weights that underflow
]


@pytest.mark.parametrize("logits", LOGIT_CASES)
def test_softmax_marginals_match_enumeration(logits: np.ndarray) -> None:
    """The integrated marginals agree with brute-force enumeration to 1e-6 (they reach
    about 1e-9), for every item at every rank up to 3, and so do a sampled list's."""
    rng = np.random.default_rng(0)
    c = len(logits)
    n_ranks = min(3, c)
    exact = _enumerate_marginals(logits, n_ranks)
    cases = np.vstack([logits, logits * 3.0, logits + rng.normal(0.0, 1.0, c)])
    for row in cases:
        truth = _enumerate_marginals(row, n_ranks) if row is not logits else exact
        got = plackett_luce_marginals(row[None], np.arange(c)[None], n_ranks)[0]
        np.testing.assert_allclose(got, truth, atol=1e-6, rtol=0)
    # the sampled lists' marginals (the shown items only)
    world = generate_world(c, 3, seed=0)
    tiny = RankingEnv(world, n_sessions=200, list_size=n_ranks).reset(seed=1)
    policy = SoftmaxPolicy(score=lambda o: np.tile(logits, (o.n_sessions, 1)))
    ranking = policy.sample(tiny, n_ranks, np.random.default_rng(2))
    expected = exact[ranking.actions, np.arange(n_ranks)]
    np.testing.assert_allclose(ranking.marginal_propensities, expected, atol=1e-6, rtol=0)
    assert ((ranking.marginal_propensities > 0) & (ranking.marginal_propensities <= 1)).all()


def test_softmax_marginals_rows_and_columns_sum_to_one(obs: Observation) -> None:
    """Over all ranks, each item's marginals sum to 1 (it is shown somewhere), and each
    rank's sum to 1 over the items (some item is there); with only the top ranks, each
    item's marginals plus P(not shown), from enumeration, sum to 1."""
    logits = SoftmaxPolicy(temperature=0.7).logits(obs)[:6]
    c = logits.shape[1]
    full = plackett_luce_marginals(logits, np.tile(np.arange(c), (6, 1)), c)
    assert full.shape == (6, c, c)
    np.testing.assert_allclose(full.sum(axis=2), 1.0, atol=1e-6)
    np.testing.assert_allclose(full.sum(axis=1), 1.0, atol=1e-6)
    assert (full >= 0).all()
    rng = np.random.default_rng(5)
    for _ in range(5):
        small = rng.normal(0.0, 2.0, 6)
        top = plackett_luce_marginals(small[None], np.arange(6)[None], 3)[0]
        not_shown = 1.0 - _enumerate_marginals(small, 3).sum(axis=1)
        np.testing.assert_allclose(top.sum(axis=1) + not_shown, 1.0, atol=1e-6)
        np.testing.assert_allclose(top.sum(axis=0), 1.0, atol=1e-6)


def test_softmax_marginals_match_sampled_frequencies() -> None:
    """Lists sampled from the policy show each item at each position about as often as
    its marginal says."""
    world = generate_world(6, 3, seed=0)
    tiny = RankingEnv(world, n_sessions=60_000, list_size=3).reset(seed=1)
    logits = np.array([1.0, 0.2, -0.5, 0.6, -1.5, 0.0])
    policy = SoftmaxPolicy(score=lambda o: np.tile(logits, (o.n_sessions, 1)))
    ranking = policy.sample(tiny, 3, np.random.default_rng(7))
    marginals = plackett_luce_marginals(logits[None], np.arange(6)[None], 3)[0]
    for k in range(3):
        freq = np.bincount(ranking.actions[:, k], minlength=6) / 60_000
        np.testing.assert_allclose(freq, marginals[:, k], atol=0.006)


def test_plackett_luce_marginals_arguments_are_checked() -> None:
    logits = np.zeros((2, 5))
    with pytest.raises(ValueError, match="n_ranks"):
        plackett_luce_marginals(logits, np.zeros((2, 1), dtype=np.int64), 6)
    with pytest.raises(ValueError, match="distinct"):
        plackett_luce_marginals(logits, np.zeros((2, 2), dtype=np.int64), 2)
    with pytest.raises(ValueError, match="index"):
        plackett_luce_marginals(logits, np.full((2, 1), 5), 2)
    with pytest.raises(ValueError, match="logits must be"):
        plackett_luce_marginals(logits[0], np.zeros((2, 1), dtype=np.int64), 1)
