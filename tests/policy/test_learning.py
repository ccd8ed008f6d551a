"""The policy learns: PPO's lists approach an enumerated optimum in a tiny shop, and a
trained conditioned policy's served front follows w."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paretorec.policy import (
    Algorithm,
    OnPolicyConfig,
    PolicyObjective,
    PreferencePolicy,
    SimulatorSpec,
    SimulatorTask,
    front_of,
    make_task,
    policy_config,
    policy_rank_fn,
    train_on_policy,
)
from paretorec.policy.serving import rank

EVAL_SESSIONS, EVAL_SEED = 200, 11


@pytest.fixture(scope="module")
def pair_task() -> SimulatorTask:
    """Lists of two from 50 candidates, rewarded on clicks alone: every ordered pair can
    be enumerated, so the best expected clicks of each session is known exactly."""
    spec = SimulatorSpec(n_items=300, n_users=80, world_seed=3, lively=True, list_size=2)
    return make_task(spec, (PolicyObjective.CLICKS,), log_sessions=2000, seed=1)


def best_pairs(task: SimulatorTask) -> tuple[np.ndarray, np.ndarray]:
    """Per session: the largest expected clicks over all ordered pairs, and the mean over
    them (the uniformly random policy's value)."""
    env = task.env(EVAL_SESSIONS, seed=EVAL_SEED)
    obs = env.reset(seed=EVAL_SEED)
    c = obs.candidates.shape[1]
    best = np.full(EVAL_SESSIONS, -np.inf)
    total = np.zeros(EVAL_SESSIONS)
    pairs = [(a, b) for a in range(c) for b in range(c) if a != b]
    for pair in pairs:
        value = task.expected_objectives(env, np.tile(pair, (EVAL_SESSIONS, 1)))
        best = np.maximum(best, value[PolicyObjective.CLICKS])
        total += value[PolicyObjective.CLICKS]
    return best, total / len(pairs)


def sampled_clicks(task: SimulatorTask, policy: PreferencePolicy) -> np.ndarray:
    """Exact expected clicks of lists sampled from the policy, per session."""
    env = task.env(EVAL_SESSIONS, seed=EVAL_SEED)
    obs = env.reset(seed=EVAL_SEED)
    lists = rank(policy, task.inputs(obs), np.ones(1), 2, sample=True, seed=5).items
    values: np.ndarray = task.expected_objectives(env, lists)[PolicyObjective.CLICKS]
    return values


def test_ppo_approaches_the_enumerated_optimum(pair_task: SimulatorTask) -> None:
    best, uniform = best_pairs(pair_task)
    torch.manual_seed(0)
    policy = PreferencePolicy(policy_config(pair_task, hidden=16))
    before = sampled_clicks(pair_task, policy)
    run = OnPolicyConfig(
        algorithm=Algorithm.PPO, steps=60, batch_sessions=64, seed=3, checkpoint_every=0
    )
    history = train_on_policy(policy, pair_task, run).history
    after = sampled_clicks(pair_task, policy)
    greedy = front_of(
        pair_task,
        policy_rank_fn(policy, 2),
        np.ones((1, 1)),
        n_sessions=EVAL_SESSIONS,
        seed=EVAL_SEED,
    ).values[0, 0]
    # the optimum bounds every list, per session
    assert (after <= best + 1e-9).all() and (before <= best + 1e-9).all()
    assert best.mean() > 2 * uniform.mean()  # a task where choosing matters
    # training reward rises, and sampled lists close at least half the gap to the optimum
    rewards = [h["reward"] for h in history]
    assert np.mean(rewards[-10:]) > np.mean(rewards[:10])
    gap_before = best.mean() - before.mean()
    assert best.mean() - after.mean() < 0.5 * gap_before
    assert greedy > 0.75 * best.mean()


def test_a_trained_conditioned_policy_follows_w(task: SimulatorTask) -> None:
    """An untrained policy already leans each way through its prediction links; training
    must keep that, not collapse to one trade-off. Without per-objective normalization
    (`normalize_objectives=False`) this training collapses (clicks 4.49 / 4.35 / 4.48
    across the three w) and this test fails."""
    torch.manual_seed(0)
    policy = PreferencePolicy(policy_config(task, hidden=16))
    run = OnPolicyConfig(
        algorithm=Algorithm.PPO, steps=30, batch_sessions=64, seed=3, checkpoint_every=0
    )
    train_on_policy(policy, task, run)
    # rows: all weight on clicks, on revenue, on diversity; columns: the same objectives
    front = front_of(
        task, policy_rank_fn(policy, task.spec.list_size), np.eye(3), n_sessions=300, seed=11
    ).values
    clicks, revenue, diversity = front[:, 0], front[:, 1], front[:, 2]
    assert clicks[0] > clicks[2] + 0.5
    assert revenue[1] > max(revenue[0], revenue[2]) + 0.5
    assert diversity[2] > max(diversity[0], diversity[1]) + 0.02
