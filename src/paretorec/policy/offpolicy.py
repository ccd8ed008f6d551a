"""Off-policy training from logs: REINFORCE with the top-K off-policy correction.

Chen et al. (WSDM 2019): with pi_theta(a | s) the policy's softmax over the candidates (the
first-position scores here), beta(a | s) the logging policy's propensity and K the length
of the lists served, the gradient is

    E_beta[ min(pi / beta, cap) * lambda_K(pi) * R * grad log pi(a | s) ],
    lambda_K(pi) = K (1 - pi)^(K - 1),

the importance weight capped at `weight_cap` (lower variance for some bias), lambda_K
turning the single-item softmax into the chance of the item being among K draws, and
R = sum_k w_k r_k over the logged per-objective rewards. Minibatches are shuffled by
generators seeded by (seed, epoch), and a checkpoint after each epoch resumes exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from paretorec.policy.checkpoint import (
    TrainingState,
    has_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from paretorec.policy.inputs import FloatArray, IntArray, PolicyInput
from paretorec.policy.network import PreferencePolicy, select_rows
from paretorec.policy.onpolicy import TrainingResult, step_seed
from paretorec.policy.plackett_luce import top_k_multiplier
from paretorec.preference import check_simplex, sample_simplex


@dataclass(frozen=True, eq=False)
class LoggedRounds:
    """Logged rounds: the policy input of each round's request, the candidate the logging
    policy showed (`action`, an index into the round's candidates) at `position`
    (0-based) with propensity `pscore` in (0, 1], and its per-objective rewards."""

    inputs: PolicyInput
    action: IntArray
    position: IntArray
    pscore: FloatArray
    rewards: Mapping[str, FloatArray]

    def __post_init__(self) -> None:
        n, c = self.inputs.n_requests, self.inputs.n_candidates
        for name, arr in (
            ("action", self.action),
            ("position", self.position),
            ("pscore", self.pscore),
        ):
            if np.asarray(arr).shape != (n,):
                raise ValueError(f"{name} must have shape ({n},), got {np.asarray(arr).shape}")
        if self.action.min() < 0 or self.action.max() >= c:
            raise ValueError(f"action must index the {c} candidates")
        if (self.pscore <= 0).any() or (self.pscore > 1).any():
            raise ValueError("pscore must lie in (0, 1]")
        for name, r in self.rewards.items():
            if np.asarray(r).shape != (n,):
                raise ValueError(f"rewards[{name!r}] must have shape ({n},)")

    @property
    def n_rounds(self) -> int:
        return self.inputs.n_requests

    def select(self, rows: IntArray) -> LoggedRounds:
        return LoggedRounds(
            inputs=self.inputs.select(rows),
            action=self.action[rows],
            position=self.position[rows],
            pscore=self.pscore[rows],
            rewards={k: v[rows] for k, v in self.rewards.items()},
        )


@dataclass(frozen=True)
class OffPolicyConfig:
    """Hyperparameters of off-policy training."""

    epochs: int = 30
    batch_size: int = 512
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    weight_cap: float = 20.0  # importance weights min(pi / beta, cap)
    top_k: int = 3  # K: the length of the lists served
    fixed_weights: tuple[float, ...] | None = None  # None: w drawn per round from the simplex
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be at least 1")
        if self.learning_rate <= 0 or self.weight_decay < 0:
            raise ValueError("learning_rate must be positive and weight_decay >= 0")
        if not self.weight_cap > 0:
            raise ValueError(f"weight_cap must be positive, got {self.weight_cap}")
        if self.top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {self.top_k}")


def top_k_off_policy_loss(
    log_pi: torch.Tensor, pscore: torch.Tensor, reward: torch.Tensor, *, cap: float, k: int
) -> torch.Tensor:
    """-mean(min(pi / beta, cap) * lambda_K(pi) * R * log pi), the weights held fixed."""
    pi = log_pi.detach().exp()
    weight = torch.clamp(pi / pscore, max=cap) * top_k_multiplier(pi, k)
    return -(weight * reward * log_pi).mean()


def train_off_policy(
    policy: PreferencePolicy,
    logs: LoggedRounds,
    config: OffPolicyConfig,
    *,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    on_progress: Callable[[int, float], None] | None = None,
) -> TrainingResult:
    """Train `policy` in place on `logs` (see the module's notes); `on_progress(epoch,
    loss)` after each epoch."""
    objectives = policy.config.objectives
    missing = [o for o in objectives if o not in logs.rewards]
    if missing:
        raise ValueError(f"the logs have no rewards for objective(s) {missing}")
    m = len(objectives)
    torch.manual_seed(config.seed)
    optimizer = torch.optim.Adam(
        policy.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    state = TrainingState(step=0, seed=config.seed, history=[], extra={})
    if resume and checkpoint_dir is not None and has_checkpoint(checkpoint_dir):
        state = load_checkpoint(checkpoint_dir, policy=policy, baseline=None, optimizer=optimizer)
    history = list(state.history)
    rewards = np.stack([logs.rewards[o] for o in objectives], axis=1)
    n = logs.n_rounds
    if config.fixed_weights is not None:
        fixed = check_simplex(np.asarray(config.fixed_weights), m, n_requests=n)
    started = time.perf_counter()
    epochs_here = 0
    for epoch in range(state.step, config.epochs):
        t0 = time.perf_counter()
        rng = np.random.default_rng(step_seed(config.seed, epoch, 0))
        w = fixed if config.fixed_weights is not None else sample_simplex(rng, n, m)
        batch_all = policy.batch(logs.inputs, w)
        order = rng.permutation(n)
        losses = []
        for lo in range(0, n, config.batch_size):
            rows = order[lo : lo + config.batch_size]
            sub = select_rows(batch_all, torch.from_numpy(rows))
            scores = policy.first_scores(sub)
            log_pi = torch.log_softmax(scores, dim=1)[
                torch.arange(rows.size), torch.from_numpy(logs.action[rows])
            ]
            reward = torch.from_numpy((rewards[rows] * w[rows]).sum(axis=1)).float()
            loss = top_k_off_policy_loss(
                log_pi,
                torch.from_numpy(logs.pscore[rows]).float(),
                reward,
                cap=config.weight_cap,
                k=config.top_k,
            )
            optimizer.zero_grad()
            torch.autograd.backward(loss)
            optimizer.step()
            losses.append(float(loss.detach()))
        row = {"loss": float(np.mean(losses)), "seconds": time.perf_counter() - t0}
        history.append(row)
        epochs_here += 1
        if on_progress is not None:
            on_progress(epoch + 1, row["loss"])
        if checkpoint_dir is not None:
            save_checkpoint(
                checkpoint_dir,
                policy=policy,
                baseline=None,
                optimizer=optimizer,
                state=TrainingState(epoch + 1, config.seed, history, {}),
            )
    seconds = time.perf_counter() - started
    return TrainingResult(
        steps=len(history),
        history=history,
        sessions_per_second=epochs_here * n / max(seconds, 1e-9),
        seconds=seconds,
    )
