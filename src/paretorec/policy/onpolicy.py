"""On-policy training in the vectorized simulator: REINFORCE with a learned baseline, or
the clipped-ratio (PPO-style) update.

Each step starts a fresh batch of sessions, draws a w per session from the simplex (or
uses `fixed_weights`, for a policy trained for one trade-off), samples a list per session
from the policy, shows it, and rewards it with R = sum_k w_k y_k of the drawn responses.
REINFORCE minimizes -mean(A log pi(list)) with A = R - b(context, w) standardized over
the batch, and fits the baseline b by squared error. PPO keeps the sampling policy's
log-probabilities and takes `ppo_epochs` passes of `ppo_minibatches` minibatches of
-mean(min(rho A, clip(rho, 1 - eps, 1 + eps) A)), rho = pi / pi_old of the whole list.

Every random draw of step t comes from generators seeded by (seed, t) (see
`checkpoint`), so a run resumed from a checkpoint is the uninterrupted run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np
import torch

from paretorec.policy.checkpoint import (
    TrainingState,
    has_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from paretorec.policy.inputs import FloatArray, check_weights, sample_simplex
from paretorec.policy.network import Baseline, Batch, PreferencePolicy, select_rows
from paretorec.policy.rewards import scalarize
from paretorec.policy.simulator import SimulatorTask


class Algorithm(StrEnum):
    REINFORCE = "reinforce"
    PPO = "ppo"
    OFFPOLICY = "offpolicy"


@dataclass(frozen=True)
class OnPolicyConfig:
    """Hyperparameters of on-policy training (explicit, with defaults that work on the
    simulator at a few hundred steps)."""

    algorithm: Algorithm = Algorithm.REINFORCE
    steps: int = 300
    batch_sessions: int = 256
    learning_rate: float = 3e-3
    baseline_learning_rate: float = 1e-2
    entropy_bonus: float = 0.0
    ppo_clip: float = 0.2
    ppo_epochs: int = 3
    ppo_minibatches: int = 4
    fixed_weights: tuple[float, ...] | None = None
    checkpoint_every: int = 50
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "algorithm", Algorithm(self.algorithm))
        if self.algorithm is Algorithm.OFFPOLICY:
            raise ValueError("off-policy training reads logs: use train_off_policy")
        if self.steps < 1 or self.batch_sessions < 2:
            raise ValueError("steps must be >= 1 and batch_sessions >= 2")
        if self.learning_rate <= 0 or self.baseline_learning_rate <= 0:
            raise ValueError("learning rates must be positive")
        if not 0 < self.ppo_clip < 1 or self.ppo_epochs < 1 or self.ppo_minibatches < 1:
            raise ValueError("ppo_clip must be in (0, 1), ppo_epochs and ppo_minibatches >= 1")
        if self.checkpoint_every < 0:
            raise ValueError("checkpoint_every must be >= 0 (0: only at the end)")


@dataclass(frozen=True)
class Progress:
    """One training step's figures, passed to `on_progress`."""

    step: int
    steps: int
    sessions: int
    reward: float
    objectives: dict[str, float]
    seconds: float


@dataclass(frozen=True)
class TrainingResult:
    """The trained steps' history (one dict per step: reward, each objective's mean,
    loss, seconds) and the throughput of this process's steps."""

    steps: int
    history: list[dict[str, float]] = field(repr=False)
    sessions_per_second: float
    seconds: float


def step_seed(seed: int, step: int, stream: int) -> int:
    """A 63-bit seed for (seed, step, stream) from numpy's SeedSequence."""
    return int(np.random.SeedSequence([seed, step, stream]).generate_state(1, np.uint64)[0] >> 1)


def _weights(config: OnPolicyConfig, rng: np.random.Generator, n: int, m: int) -> FloatArray:
    if config.fixed_weights is not None:
        return check_weights(np.asarray(config.fixed_weights), m, n_requests=n)
    return sample_simplex(rng, n, m)


def train_on_policy(
    policy: PreferencePolicy,
    task: SimulatorTask,
    config: OnPolicyConfig,
    *,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    log_dir: Path | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> TrainingResult:
    """Train `policy` in place (see the module's notes). With `checkpoint_dir`, saves a
    checkpoint every `checkpoint_every` steps and at the end; with `resume`, continues
    from the checkpoint there if there is one. `log_dir` gets TensorBoard curves: the
    reward and each objective's mean per step."""
    objectives = task.objectives
    names = tuple(o.value for o in objectives)
    if names != policy.config.objectives:
        raise ValueError(f"the policy's objectives {policy.config.objectives} are not {names}")
    torch.manual_seed(config.seed)
    baseline = Baseline(policy.config)
    optimizer = torch.optim.Adam(
        [
            {"params": list(policy.parameters()), "lr": config.learning_rate},
            {"params": list(baseline.parameters()), "lr": config.baseline_learning_rate},
        ]
    )
    state = TrainingState(step=0, seed=config.seed, history=[], extra={})
    if resume and checkpoint_dir is not None and has_checkpoint(checkpoint_dir):
        state = load_checkpoint(
            checkpoint_dir, policy=policy, baseline=baseline, optimizer=optimizer
        )
        if state.seed != config.seed:
            raise ValueError(
                f"the checkpoint was trained with seed {state.seed}, not {config.seed}"
            )
    history = list(state.history)
    writer = None
    if log_dir is not None:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(log_dir), purge_step=state.step)
    env = task.env(config.batch_sessions)
    m = len(objectives)
    started = time.perf_counter()
    done_here = 0
    k = task.spec.list_size
    try:
        for step in range(state.step, config.steps):
            t0 = time.perf_counter()
            rng = np.random.default_rng(step_seed(config.seed, step, 0))
            generator = torch.Generator().manual_seed(step_seed(config.seed, step, 1))
            obs = env.reset(seed=step_seed(config.seed, step, 2))
            inputs = task.inputs(obs)
            w = _weights(config, rng, obs.n_sessions, m)
            batch = policy.batch(inputs, w)
            with torch.no_grad():
                sampled = policy.decode(batch, k, generator=generator)
            lists = sampled.lists.numpy()
            values = task.sampled_objectives(env, lists)
            reward = torch.from_numpy(scalarize(values, objectives, w)).float()
            if config.algorithm is Algorithm.PPO:
                loss = _ppo(
                    policy,
                    baseline,
                    optimizer,
                    batch,
                    sampled.lists,
                    sampled.log_prob,
                    reward,
                    config,
                    generator,
                )
            else:
                loss = _reinforce(policy, baseline, optimizer, batch, sampled.lists, reward, config)
            row = {
                "reward": float(reward.mean()),
                "loss": loss,
                "seconds": time.perf_counter() - t0,
            }
            row.update({o.value: float(values[o].mean()) for o in objectives})
            history.append(row)
            done_here += 1
            if writer is not None:
                writer.add_scalar("reward/weighted", row["reward"], step + 1)
                for o in objectives:
                    writer.add_scalar(f"objective/{o.value}", row[o.value], step + 1)
                writer.add_scalar("loss/policy", loss, step + 1)
            if on_progress is not None:
                on_progress(
                    Progress(
                        step + 1,
                        config.steps,
                        obs.n_sessions,
                        row["reward"],
                        {o.value: row[o.value] for o in objectives},
                        row["seconds"],
                    )
                )
            every = config.checkpoint_every
            last = step + 1 == config.steps
            if checkpoint_dir is not None and (last or (every and (step + 1) % every == 0)):
                save_checkpoint(
                    checkpoint_dir,
                    policy=policy,
                    baseline=baseline,
                    optimizer=optimizer,
                    state=TrainingState(step + 1, config.seed, history, {}),
                )
    finally:
        if writer is not None:
            writer.close()
    seconds = time.perf_counter() - started
    return TrainingResult(
        steps=len(history),
        history=history,
        sessions_per_second=done_here * config.batch_sessions / max(seconds, 1e-9),
        seconds=seconds,
    )


def _advantage(reward: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    a = reward - value.detach()
    return (a - a.mean()) / (a.std() + 1e-8)


def _reinforce(
    policy: PreferencePolicy,
    baseline: Baseline,
    optimizer: torch.optim.Optimizer,
    batch: Batch,
    lists: torch.Tensor,
    reward: torch.Tensor,
    config: OnPolicyConfig,
) -> float:
    value = baseline(batch)
    decoded = policy.decode(batch, int(lists.shape[1]), lists=lists)
    advantage = _advantage(reward, value)
    loss = -(advantage * decoded.log_prob).mean() + ((value - reward) ** 2).mean()
    if config.entropy_bonus:
        loss = loss + config.entropy_bonus * decoded.log_prob.mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def _ppo(
    policy: PreferencePolicy,
    baseline: Baseline,
    optimizer: torch.optim.Optimizer,
    batch: Batch,
    lists: torch.Tensor,
    old_log_prob: torch.Tensor,
    reward: torch.Tensor,
    config: OnPolicyConfig,
    generator: torch.Generator,
) -> float:
    with torch.no_grad():
        advantage = _advantage(reward, baseline(batch))
    n = batch.n
    total = 0.0
    for _ in range(config.ppo_epochs):
        order = torch.randperm(n, generator=generator)
        for part in torch.tensor_split(order, config.ppo_minibatches):
            sub = select_rows(batch, part)
            logp = policy.decode(sub, int(lists.shape[1]), lists=lists[part]).log_prob
            ratio = torch.exp(logp - old_log_prob[part])
            adv = advantage[part]
            clipped = torch.clamp(ratio, 1 - config.ppo_clip, 1 + config.ppo_clip)
            surrogate = torch.minimum(ratio * adv, clipped * adv).mean()
            value_loss = ((baseline(sub) - reward[part]) ** 2).mean()
            loss = -surrogate + value_loss
            if config.entropy_bonus:
                loss = loss + config.entropy_bonus * logp.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total = float(loss.detach())
    return total
