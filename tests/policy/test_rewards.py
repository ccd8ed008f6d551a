"""Advantages of conditioned training: per-objective scale, leave-one-out baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paretorec.policy import OnPolicyConfig, SimulatorTask
from paretorec.policy.onpolicy import RunningMoments, advantages


def test_leave_one_out_advantages_cancel_within_each_context() -> None:
    rng = np.random.default_rng(0)
    s, n, m = 4, 6, 3
    values = rng.normal(size=(s * n, m))
    weights = np.tile(rng.dirichlet(np.ones(m), size=n), (s, 1))
    _, advantage, credit = advantages(values, weights, lists_per_context=s)
    assert credit is not None
    assert torch.allclose(advantage.view(s, n).sum(dim=0), torch.zeros(n), atol=1e-5)
    # the weighted sum of the per-objective credits is the advantage
    combined = (credit * torch.from_numpy(weights).float()).sum(dim=1)
    assert torch.allclose(combined, advantage, atol=1e-5)
    # a context-wide shift of the rewards (the context's own level) changes nothing
    shifted = values + np.tile(rng.normal(size=(n, m)) * 100, (s, 1))
    _, again, _ = advantages(shifted, weights, lists_per_context=s)
    assert torch.allclose(again, advantage, atol=1e-3)


def test_each_objective_is_divided_by_its_scale_before_weighting() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=(16, 2))
    weights = np.tile([[0.5, 0.5]], (16, 1))
    loud = values * np.array([1000.0, 1.0])  # the first objective's raw reward is 1000x
    plain, _, _ = advantages(values, weights, lists_per_context=4)
    scaled, _, _ = advantages(loud, weights, lists_per_context=4, scale=np.array([1000.0, 1.0]))
    assert torch.allclose(plain, scaled, atol=1e-5)


def test_running_moments_match_the_std_of_everything_seen() -> None:
    rng = np.random.default_rng(2)
    parts = [rng.normal(loc=3, scale=[1.0, 0.01], size=(n, 2)) for n in (5, 40, 7)]
    moments = RunningMoments.empty(2)
    for part in parts:
        moments.update(part)
    everything = np.concatenate(parts)
    np.testing.assert_allclose(moments.std(), everything.std(axis=0, ddof=1), rtol=1e-9)
    again = RunningMoments.from_json(moments.to_json(), 2)
    np.testing.assert_array_equal(again.std(), moments.std())
    assert RunningMoments.empty(2).std().tolist() == [1.0, 1.0]


def test_one_list_per_context_needs_a_baseline() -> None:
    with pytest.raises(ValueError, match="baseline"):
        advantages(np.ones((4, 2)), np.full((4, 2), 0.5), lists_per_context=1)


def test_the_batch_must_split_into_whole_contexts() -> None:
    with pytest.raises(ValueError, match="multiple of lists_per_context"):
        OnPolicyConfig(batch_sessions=10, lists_per_context=4)


def test_reseeding_the_environment_shows_the_same_context_again(task: SimulatorTask) -> None:
    """Several lists per context rely on reset(seed) giving the same observation."""
    env = task.env(8)
    first = env.reset(seed=11)
    again = env.reset(seed=11)
    np.testing.assert_array_equal(first.candidates, again.candidates)
    np.testing.assert_array_equal(first.user, again.user)
    np.testing.assert_array_equal(first.query, again.query)
