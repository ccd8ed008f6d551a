"""The gym-style environment: observations, actions, feedback, sessions, conflicts."""

from __future__ import annotations

import numpy as np
import pytest

from paretorec.simulate import (
    FEEDBACK_NAMES,
    ClickModel,
    RankingEnv,
    SoftmaxPolicy,
    UniformRandomPolicy,
    World,
    WorldConfig,
    generate_world,
    heuristic_scores,
    policy_value,
)
from paretorec.simulate.behaviour import funnel
from paretorec.simulate.sessions import draw_intents, shown_list


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(6000, 1500, seed=7)


@pytest.fixture(scope="module")
def lively() -> World:
    return generate_world(6000, 1500, seed=8, config=WorldConfig.lively())


def test_reset_observation_shapes_and_candidates(world: World) -> None:
    env = RankingEnv(world, n_sessions=3000, list_size=10)
    obs = env.reset(seed=1)
    c = world.config.sessions.n_candidates
    assert obs.candidates.shape == (3000, c)
    assert obs.candidates.min() >= 0 and obs.candidates.max() < world.n_items
    srt = np.sort(obs.candidates, axis=1)
    assert not (srt[:, 1:] == srt[:, :-1]).any()  # distinct within a session
    assert obs.active.all() and obs.step == 0
    assert (obs.query[~obs.is_search] == -1).all() and (obs.query[obs.is_search] >= 0).all()
    assert 0.4 < obs.is_search.mean() < 0.6
    f = obs.features
    assert f.price.shape == (3000, c) and f.leaf_match.shape == (3000, c)
    assert (f.leaf_match[~obs.is_search] == 0).all()
    # candidates are mostly drawn around the searched category
    assert f.leaf_match[obs.is_search].mean() > 0.4
    again = RankingEnv(world, n_sessions=3000, list_size=10).reset(seed=1)
    np.testing.assert_array_equal(again.candidates, obs.candidates)


def test_step_returns_named_feedback(world: World) -> None:
    env = RankingEnv(world, n_sessions=2000, list_size=5)
    obs = env.reset(seed=2)
    actions = np.tile(np.arange(5), (2000, 1))
    result = env.step(actions)
    fb = result.feedback.as_dict()
    assert tuple(fb) == FEEDBACK_NAMES == ("clicks", "carts", "purchases", "revenue", "margin")
    for value in fb.values():
        assert value.shape == (2000, 5)
    np.testing.assert_array_equal(result.shown, obs.candidates[:, :5])
    assert set(np.unique(fb["clicks"])) <= {0.0, 1.0}
    assert (fb["carts"] <= fb["clicks"]).all() and (fb["purchases"] <= fb["carts"]).all()
    np.testing.assert_allclose(fb["revenue"], fb["purchases"] * world.items.price[result.shown])
    assert result.done.all()  # one step a session by default
    with pytest.raises(ValueError, match="reset"):
        env.step(actions)


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (np.array([[0, 1, 1]]), "repeats an item"),
        (np.array([[0, 1, 50]]), "index"),
        (np.array([[0, 1, -1]]), "index"),
        (np.array([[0, 1]]), "shape"),
        (np.array([[0.0, 1.0, 2.0]]), "integer"),
    ],
)
def test_bad_actions_raise(world: World, actions: np.ndarray, message: str) -> None:
    env = RankingEnv(world, n_sessions=1, list_size=3)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(actions)
    with pytest.raises(ValueError, match=message):
        env.expected_feedback(actions)


def test_list_longer_than_candidates_raises(world: World) -> None:
    with pytest.raises(ValueError, match="list_size"):
        RankingEnv(world, n_sessions=10, list_size=51)
    with pytest.raises(ValueError, match="reset"):
        RankingEnv(world, n_sessions=10, list_size=5).observation  # noqa: B018


@pytest.mark.parametrize("model", [ClickModel.PBM, ClickModel.CASCADE])
def test_sampled_feedback_matches_exact_expectation(model: ClickModel) -> None:
    lively = generate_world(3000, 800, seed=8, config=WorldConfig.lively().with_click_model(model))
    env = RankingEnv(lively, n_sessions=40_000, list_size=5)
    obs = env.reset(seed=3)
    actions = UniformRandomPolicy().sample(obs, 5, np.random.default_rng(0)).actions
    expected = env.expected_feedback(actions)
    assert (expected.clicks >= 0).all() and (expected.clicks <= 1).all()
    sampled = env.step(actions).feedback
    if model is ClickModel.CASCADE:
        assert sampled.clicks.sum(axis=1).max() == 1
    for name in ("clicks", "carts", "purchases"):
        e = getattr(expected, name).mean(axis=0)
        s = getattr(sampled, name).mean(axis=0)
        se = np.sqrt(e * (1 - e) / 40_000)
        assert (np.abs(s - e) < 5 * se + 1e-4).all(), name


def test_multi_step_sessions_end_and_tire_of_repeats(lively: World) -> None:
    env = RankingEnv(lively, n_sessions=5000, list_size=5, max_steps=3)
    obs = env.reset(seed=4)
    policy = UniformRandomPolicy()
    rng = np.random.default_rng(1)
    steps = 0
    while obs.active.any():
        result = env.step(policy.sample(obs, 5, rng).actions)
        inactive = ~obs.active
        assert (result.feedback.clicks[inactive] == 0).all()
        assert not (result.done & inactive).any()
        assert not (result.observation.active & ~obs.active).any()
        obs = result.observation
        steps += 1
    assert steps <= 3
    # the same items shown again in the same session attract less
    users = lively.users.draw(500, rng)
    intent = draw_intents(lively, users, rng)
    items = rng.integers(0, lively.n_items, (500, 4))
    cfg = lively.config.behaviour
    fresh = funnel(shown_list(lively, users, intent, items), cfg, lively.click_intercept)
    again = funnel(shown_list(lively, users, intent, items, items), cfg, lively.click_intercept)
    assert (again.attraction < fresh.attraction).all()


@pytest.mark.parametrize(("shop", "gap"), [("world", 0.01), ("lively", 0.05)])
def test_objectives_conflict(shop: str, gap: float, request: pytest.FixtureRequest) -> None:
    """Clicks, revenue and margin favour different items and lists (`gap`: the least
    relative loss of one objective when another is maximized)."""
    world: World = request.getfixturevalue(shop)
    n = 2000
    env = RankingEnv(world, n_sessions=n, list_size=1)
    obs = env.reset(seed=5)
    c = obs.n_candidates
    value = {name: np.empty((n, c)) for name in FEEDBACK_NAMES}
    for j in range(c):
        fb = env.expected_feedback(np.full((n, 1), j))
        for name, v in fb.as_dict().items():
            value[name][:, j] = v[:, 0]
    best = {name: v.argmax(axis=1) for name, v in value.items()}
    assert (best["clicks"] != best["revenue"]).mean() > 0.15
    assert (best["revenue"] != best["margin"]).mean() > 0.1
    # lists of 10 ranked by one objective give up some of the others
    env10 = RankingEnv(world, n_sessions=n, list_size=10)
    env10.reset(seed=5)
    by = {
        name: env10.expected_feedback(np.argsort(-value[name], axis=1)[:, :10]).mean()
        for name in ("clicks", "revenue", "margin")
    }
    assert by["revenue"]["revenue"] > (1 + gap) * by["clicks"]["revenue"]
    assert by["revenue"]["clicks"] < (1 - gap) * by["clicks"]["clicks"]
    assert by["margin"]["margin"] > (1 + gap) * by["clicks"]["margin"]
    assert by["margin"]["revenue"] < by["revenue"]["revenue"]
    # popular items click more; within a session dearer items sell less per click
    pop = obs.features.popularity_z
    assert np.corrcoef(pop.ravel(), np.log(value["clicks"]).ravel())[0, 1] > 0.05
    ok = (value["purchases"] > 0) & obs.features.in_stock
    log_price = np.log(obs.features.price[ok])
    buy_per_click = value["purchases"][ok] / value["clicks"][ok]
    assert np.corrcoef(log_price, np.log(buy_per_click))[0, 1] < -0.1
    assert np.corrcoef(log_price, np.log(buy_per_click) + log_price)[0, 1] > 0.1


def test_off_policy_estimate_agrees_with_true_value(lively: World) -> None:
    """IPS on uniform logs estimates a target policy's value; the simulator knows it exactly."""
    n, k = 60_000, 1
    env = RankingEnv(lively, n_sessions=n, list_size=k)
    obs = env.reset(seed=6)
    target = np.argsort(-heuristic_scores(obs), axis=1)[:, :k]
    truth = float(env.expected_feedback(target).clicks.sum(axis=1).mean())
    logged = UniformRandomPolicy().sample(obs, k, np.random.default_rng(2))
    clicks = env.step(logged.actions).feedback.clicks[:, 0]
    match = logged.actions[:, 0] == target[:, 0]
    ips = float((clicks * match / logged.marginal_propensities[:, 0]).mean())
    assert ips == pytest.approx(truth, rel=0.25)
    # policy_value: exact for a deterministic policy, and the uniform policy is worse
    env2 = RankingEnv(lively, n_sessions=5000, list_size=3)
    env2.reset(seed=7)
    greedy = SoftmaxPolicy(temperature=1e-3)
    v_greedy = policy_value(env2, greedy, n_samples=1, rng=np.random.default_rng(0))
    v_random = policy_value(env2, UniformRandomPolicy(), n_samples=4, rng=np.random.default_rng(0))
    assert v_greedy["clicks"] > 1.5 * v_random["clicks"]
    assert set(v_greedy) == set(FEEDBACK_NAMES)


def test_list_ips_under_softmax_logging_uses_propensities_given_above(lively: World) -> None:
    """Whole-list IPS on softmax logs estimates a deterministic target list's clicks: the
    logged list's probability is the product of `propensities_given_above`; the product
    of the marginals is not a list's probability, and with it the estimate is far off."""
    n, k = 20_000, 3
    env = RankingEnv(lively, n_sessions=n, list_size=k)
    obs = env.reset(seed=6)
    target = np.argsort(-heuristic_scores(obs), axis=1)[:, :k]
    truth = float(env.expected_feedback(target).clicks.sum(axis=1).mean())
    logged = SoftmaxPolicy(temperature=0.3).sample(obs, k, np.random.default_rng(2))
    np.testing.assert_allclose(
        logged.list_propensities, logged.propensities_given_above.prod(axis=1)
    )
    clicks = env.step(logged.actions).feedback.clicks.sum(axis=1)
    match = (logged.actions == target).all(axis=1)
    assert match.mean() > 0.1
    ips = float((clicks * match / logged.list_propensities).mean())
    assert ips == pytest.approx(truth, rel=0.1)
    naive = float((clicks * match / logged.marginal_propensities.prod(axis=1)).mean())
    assert abs(naive / truth - 1) > 0.3
