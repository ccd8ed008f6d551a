"""The multi-task ranker as the policy's predictor in the simulator."""

from __future__ import annotations

import numpy as np
import torch

from paretorec.policy import (
    OnPolicyConfig,
    PreferencePolicy,
    RankerPredictor,
    SimulatorTask,
    fit_ranker_from_random_logs,
    policy_config,
    train_on_policy,
)
from paretorec.rank import TrainConfig
from tests.policy.conftest import TINY_OBJECTIVES, TINY_SPEC


def test_ranker_predictions_feed_a_policy_in_the_simulator() -> None:
    world = TINY_SPEC.world()
    predictor, scales = fit_ranker_from_random_logs(
        world,
        list_size=TINY_SPEC.list_size,
        n_sessions=1500,
        seed=2,
        train=TrainConfig(epochs=1, batch_size=1024, seed=2),
    )
    assert isinstance(predictor, RankerPredictor)
    assert predictor.tasks == ("click", "purchase", "revenue")
    assert scales.clicks > 0 and scales.revenue > 0
    task = SimulatorTask(TINY_SPEC, world, TINY_OBJECTIVES, predictor, scales)
    obs = task.env(6).reset(seed=4)
    p = predictor.predict_observation(obs)
    shape = obs.candidates.shape
    assert all(v.shape == shape for v in p.values())
    assert ((p["click"] > 0) & (p["click"] < 1)).all()
    assert (p["purchase"] <= 1).all() and (p["purchase"] >= 0).all()
    np.testing.assert_allclose(p["revenue"], p["purchase"] * obs.features.price)
    assert p["click"].std() > 0  # it tells candidates apart
    torch.manual_seed(0)
    policy = PreferencePolicy(policy_config(task, hidden=8))
    result = train_on_policy(policy, task, OnPolicyConfig(steps=2, batch_sessions=16, seed=0))
    assert result.steps == 2
    assert np.isfinite([h["reward"] for h in result.history]).all()
