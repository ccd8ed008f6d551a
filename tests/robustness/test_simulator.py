"""Simulator stress (noisy rewards, bots) and the loop's defences (per-actor caps,
winsorized rewards): exact, seeded, identity at strength 0; the measuring path stays clean."""

from __future__ import annotations

import numpy as np
import pytest

from paretorec.policy.rewards import PolicyObjective
from paretorec.policy.simulator import SimulatorSpec, SimulatorTask, make_task
from paretorec.robustness.simulator import (
    BOTS,
    CORRUPTION,
    TRAFFIC_SCENARIOS,
    StressedTask,
    TrafficDefence,
    TrafficStress,
    cap_weights,
    winsorize,
)

OBJECTIVES = (PolicyObjective.CLICKS, PolicyObjective.PURCHASES, PolicyObjective.REVENUE)
N = 60


@pytest.fixture(scope="module")
def task() -> SimulatorTask:
    spec = SimulatorSpec(n_items=300, n_users=120, list_size=5)
    return make_task(spec, OBJECTIVES, log_sessions=500, seed=0)


def shown(
    task: SimulatorTask, stress: TrafficStress, defence: TrafficDefence, seed: int = 3
) -> dict[PolicyObjective, np.ndarray]:
    """Training feedback of the first-k lists in N fresh contexts (the env seeded `seed`)."""
    env = task.env(N)
    env.reset(seed=seed)
    lists = np.tile(np.arange(task.spec.list_size), (N, 1))
    return StressedTask.of(task, stress, defence).sampled_objectives(env, lists)


def test_cap_weights_and_winsorize_are_exact() -> None:
    np.testing.assert_allclose(cap_weights(np.array([7, 7, 7, 2]), 1), [1 / 3, 1 / 3, 1 / 3, 1])
    np.testing.assert_allclose(cap_weights(np.array([7, 7, 7, 2]), 2), [2 / 3, 2 / 3, 2 / 3, 1])
    np.testing.assert_allclose(winsorize(np.array([0.5, 3.0, 9.0]), 2.0), [0.5, 2.0, 2.0])


def test_no_stress_and_no_defence_is_the_plain_task(task: SimulatorTask) -> None:
    env = task.env(N)
    env.reset(seed=3)
    lists = np.tile(np.arange(task.spec.list_size), (N, 1))
    plain = task.sampled_objectives(env, lists)
    stressed = shown(task, TrafficStress(), TrafficDefence())
    for o in OBJECTIVES:
        np.testing.assert_array_equal(plain[o], stressed[o])


def test_stress_is_seeded_and_the_same_for_the_same_contexts(task: SimulatorTask) -> None:
    stress = TrafficStress(reward_noise=0.3, bot_share=0.3, seed=5)
    a, b = shown(task, stress, TrafficDefence()), shown(task, stress, TrafficDefence())
    other = shown(task, TrafficStress(reward_noise=0.3, bot_share=0.3, seed=6), TrafficDefence())
    for o in OBJECTIVES:
        np.testing.assert_array_equal(a[o], b[o])
    assert any(not np.array_equal(a[o], other[o]) for o in OBJECTIVES)


def test_noisy_rewards_add_the_corruption_to_the_share_drawn(task: SimulatorTask) -> None:
    clean = shown(task, TrafficStress(), TrafficDefence())
    noisy = shown(task, TrafficStress(reward_noise=1.0), TrafficDefence())
    for o in OBJECTIVES:
        np.testing.assert_allclose(noisy[o], clean[o] + CORRUPTION)


def test_bots_reward_only_their_sellers_items(task: SimulatorTask) -> None:
    stressed = StressedTask.of(task, TrafficStress(bot_share=1.0), TrafficDefence())
    values = shown(task, TrafficStress(bot_share=1.0), TrafficDefence())
    env = task.env(N)
    obs = env.reset(seed=3)
    items = obs.candidates[:, : task.spec.list_size]
    targets = np.isin(task.world.items.seller[items], stressed.bot_sellers()).sum(axis=1)
    np.testing.assert_allclose(values[PolicyObjective.CLICKS], targets / task.scales.clicks)
    np.testing.assert_allclose(values[PolicyObjective.PURCHASES], targets / task.scales.purchases)


def test_actor_caps_shrink_the_bots_to_a_shoppers_weight(task: SimulatorTask) -> None:
    stress = TrafficStress(bot_share=1.0)
    bots = shown(task, stress, TrafficDefence())
    capped = shown(task, stress, TrafficDefence(actor_cap=1))
    # N contexts from BOTS accounts: each account weighs one context in all
    for o in OBJECTIVES:
        np.testing.assert_allclose(capped[o], bots[o] * BOTS / N)


def test_reward_clip_bounds_every_corrupted_list(task: SimulatorTask) -> None:
    clipped = shown(task, TrafficStress(reward_noise=1.0), TrafficDefence(reward_clip=3.0))
    for o in OBJECTIVES:
        assert clipped[o].max() <= 3.0 + 1e-12  # the running mean starts at 1


def test_the_scenarios_and_bad_values(task: SimulatorTask) -> None:
    names = {s.name for s in TRAFFIC_SCENARIOS}
    assert names == {"noisy-rewards", "bot-traffic"}
    for scenario in TRAFFIC_SCENARIOS:
        assert scenario.stress(0.0, seed=1) == TrafficStress(seed=1)
        assert scenario.strengths[0] == 0.0 and scenario.middle_strength > 0
    with pytest.raises(ValueError, match="bot_share must be a share in"):
        TrafficStress(bot_share=1.5)
    with pytest.raises(ValueError, match="reward_clip must be None or > 1"):
        TrafficDefence(reward_clip=0.5)
    with pytest.raises(ValueError, match="actor_cap must be None or >= 1"):
        TrafficDefence(actor_cap=0)
