"""Off-policy learning: the top-K corrected loss, and learning the rewarded item from logs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paretorec.policy import (
    LoggedRounds,
    OffPolicyConfig,
    PolicyConfig,
    PolicyInput,
    PreferencePolicy,
    rank,
    top_k_off_policy_loss,
    train_off_policy,
)


def test_top_k_loss_on_a_hand_checked_case() -> None:
    log_pi = torch.log(torch.tensor([0.5, 0.25]))
    pscore = torch.tensor([0.25, 0.25])
    reward = torch.tensor([1.0, 0.0])
    # round 1: w = min(0.5 / 0.25, 10) = 2, lambda_2 = 2 (1 - 0.5) = 1: -(2 * 1 * 1 * log 0.5) / 2
    got = top_k_off_policy_loss(log_pi, pscore, reward, cap=10.0, k=2)
    assert float(got) == pytest.approx(-np.log(0.5), rel=1e-6)
    capped = top_k_off_policy_loss(log_pi, pscore, reward, cap=1.5, k=2)
    assert float(capped) == pytest.approx(-1.5 * np.log(0.5) / 2, rel=1e-6)


def _logs(n: int, c: int, seed: int) -> LoggedRounds:
    """Uniformly random logs where only candidate 3 is ever clicked."""
    rng = np.random.default_rng(seed)
    action = rng.integers(0, c, n)
    return LoggedRounds(
        inputs=PolicyInput(
            context=np.zeros((n, 1)),
            item_features=np.broadcast_to(np.eye(c)[None], (n, c, c)).copy(),
            predictions={"click": np.full((n, c), 0.1)},
        ),
        action=action,
        position=np.zeros(n, dtype=np.int64),
        pscore=np.full(n, 1.0 / c),
        rewards={"clicks": (action == 3).astype(np.float64)},
    )


def test_learns_to_rank_the_rewarded_item_first() -> None:
    c = 6
    torch.manual_seed(0)
    policy = PreferencePolicy(
        PolicyConfig(
            objectives=("clicks",),
            prediction_names=("click",),
            context_dim=1,
            item_dim=c,
            links=(("clicks", "click"),),
            hidden=8,
        )
    )
    logs = _logs(600, c, 0)
    train_off_policy(
        policy, logs, OffPolicyConfig(epochs=15, batch_size=100, learning_rate=0.03, seed=1)
    )
    assert rank(policy, logs.inputs.select(np.arange(1)), [1.0], 1).items[0, 0] == 3


def test_bad_logs_are_refused() -> None:
    logs = _logs(10, 4, 0)
    with pytest.raises(ValueError, match="pscore must lie in"):
        LoggedRounds(logs.inputs, logs.action, logs.position, np.zeros(10), dict(logs.rewards))
    with pytest.raises(ValueError, match="action must index"):
        LoggedRounds(logs.inputs, logs.action + 4, logs.position, logs.pscore, dict(logs.rewards))
