"""On-policy training in the vectorized simulator: REINFORCE, or the clipped-ratio
(PPO-style) update.

Each step starts a fresh batch of contexts (sessions), draws a w per context from
Dirichlet(`weight_concentration`) on the simplex (or uses `fixed_weights`, for a policy
trained for one trade-off), samples `lists_per_context` lists per context from the policy
and shows each of them in the same context (the environment re-seeded to that step's
observation: the same shopper, query and candidates, and the same random numbers for
their responses), and rewards each list with R = sum_k w_k y_k / sigma_k of the drawn
responses, sigma_k the running standard deviation of objective k over every list shown
so far (`normalize_objectives`): without it the objective with the noisiest raw reward
(revenue) drowns the others' signal for every w, and the policy learns one trade-off
instead of the front. The budget is counted in lists shown: `batch_sessions` a step.

The baseline of a list is the mean reward of the other lists of its context
(leave-one-out), exact for that context and w; with one list per context it is a learned
b(context, candidates, w) fitted by squared error. The advantage A = R - baseline is
divided by its standard deviation over the batch. REINFORCE minimizes
-mean(A log pi(list)); PPO keeps the sampling policy's log-probabilities and takes
`ppo_epochs` passes of `ppo_minibatches` minibatches of
-mean(min(rho A, clip(rho, 1 - eps, 1 + eps) A)), rho = pi / pi_old of the whole list.

Every random draw of step t comes from generators seeded by (seed, t) (see
`checkpoint`), and the running reward statistics are saved with the checkpoint, so a run
resumed from a checkpoint is the uninterrupted run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
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
from paretorec.policy.inputs import FloatArray
from paretorec.policy.network import Baseline, Batch, PreferencePolicy, select_rows
from paretorec.policy.simulator import SimulatorTask
from paretorec.preference import check_simplex, sample_simplex


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
    lists_per_context: int = 4  # lists sampled per context; > 1: leave-one-out baseline
    normalize_objectives: bool = True  # y_k / running std of y_k before weighting
    weight_concentration: float = 0.5  # Dirichlet parameter of the w drawn per context
    # each objective's head and links learn from that objective's advantage alone (needs
    # lists_per_context > 1 and objective_heads). Off by default: in the simulator it made
    # the front follow w (diversity 0.47-0.97 over the grid instead of 0.90-0.97) but the
    # noise-free diversity head outgrew the others, and hypervolume fell (0.74 vs 1.36)
    credit_per_objective: bool = False
    checkpoint_every: int = 50
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "algorithm", Algorithm(self.algorithm))
        if self.algorithm is Algorithm.OFFPOLICY:
            raise ValueError("off-policy training reads logs: use train_off_policy")
        if self.steps < 1 or self.batch_sessions < 1:
            raise ValueError("steps and batch_sessions must be >= 1")
        if self.learning_rate <= 0 or self.baseline_learning_rate <= 0:
            raise ValueError("learning rates must be positive")
        if not 0 < self.ppo_clip < 1 or self.ppo_epochs < 1 or self.ppo_minibatches < 1:
            raise ValueError("ppo_clip must be in (0, 1), ppo_epochs and ppo_minibatches >= 1")
        if self.lists_per_context < 1:
            raise ValueError("lists_per_context must be at least 1")
        if self.batch_sessions % self.lists_per_context:
            raise ValueError(
                f"batch_sessions ({self.batch_sessions}) must be a multiple of "
                f"lists_per_context ({self.lists_per_context})"
            )
        if self.lists_per_context == 1 and self.batch_sessions < 2:
            raise ValueError("one list per context needs batch_sessions >= 2")
        if not (np.isfinite(self.weight_concentration) and self.weight_concentration > 0):
            raise ValueError("weight_concentration must be positive")
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
        return check_simplex(np.asarray(config.fixed_weights), m, n_requests=n)
    return sample_simplex(rng, n, m, concentration=config.weight_concentration)


@dataclass
class RunningMoments:
    """Count, mean and sum of squared deviations of each objective (Chan et al.'s
    parallel update), for y_k / sigma_k; saved with a checkpoint as plain floats."""

    count: float
    mean: FloatArray
    m2: FloatArray

    @classmethod
    def empty(cls, m: int) -> RunningMoments:
        return cls(0.0, np.zeros(m), np.zeros(m))

    def update(self, values: FloatArray) -> None:
        """Add the rows of `values` (n, m)."""
        n = float(values.shape[0])
        mean = values.mean(axis=0)
        m2 = ((values - mean) ** 2).sum(axis=0)
        total = self.count + n
        delta = mean - self.mean
        self.m2 = self.m2 + m2 + delta**2 * self.count * n / total
        self.mean = self.mean + delta * n / total
        self.count = total

    def std(self) -> FloatArray:
        """The standard deviation of each objective; 1 where it has not varied yet."""
        var = self.m2 / max(self.count - 1.0, 1.0)
        out: FloatArray = np.where(var > 1e-12, np.sqrt(np.maximum(var, 1e-12)), 1.0)
        return out

    def to_json(self) -> dict[str, object]:
        return {"count": self.count, "mean": self.mean.tolist(), "m2": self.m2.tolist()}

    @classmethod
    def from_json(cls, data: dict[str, object], m: int) -> RunningMoments:
        if not data:
            return cls.empty(m)
        mean, m2 = data["mean"], data["m2"]
        assert isinstance(mean, list) and isinstance(m2, list)
        return cls(float(str(data["count"])), np.asarray(mean, float), np.asarray(m2, float))


def advantages(
    values: FloatArray,
    weights: FloatArray,
    *,
    lists_per_context: int,
    scale: FloatArray | None = None,
    value: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(reward, advantage, credit) of lists (n * s rows of m objective values, weights
    likewise; sample j of context i at row j * n + i).

    R = sum_k w_k y_k / scale_k. With s > 1 lists per context, each objective's
    advantage A_k = y_k / scale_k minus its mean over the context's other lists, A =
    sum_k w_k A_k, and credit = A_k (n * s, m), all divided by A's standard deviation
    over the batch. With s = 1, A = R - `value` centred and divided by its standard
    deviation, and no credit (there is no per-objective baseline)."""
    scaled = values if scale is None else values / scale
    reward = torch.from_numpy((scaled * weights).sum(axis=1)).float()
    s = lists_per_context
    if s > 1:
        group = torch.from_numpy(scaled).float().view(s, -1, scaled.shape[1])
        others = (group.sum(dim=0, keepdim=True) - group) / (s - 1)
        per_objective = (group - others).reshape(-1, scaled.shape[1])
        a = (per_objective * torch.from_numpy(weights).float()).sum(dim=1)
        norm = a.std() + 1e-8
        return reward, a / norm, per_objective / norm
    if value is None:
        raise ValueError("one list per context needs a baseline value")
    a = reward - value.detach()
    return reward, (a - a.mean()) / (a.std() + 1e-8), None


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
    lists_per = config.lists_per_context
    n_contexts = config.batch_sessions // lists_per
    env = task.env(n_contexts)
    m = len(objectives)
    moments = RunningMoments.from_json(state.extra.get("objective_moments", {}), m)
    started = time.perf_counter()
    done_here = 0
    k = task.spec.list_size
    tiled_rows = torch.arange(n_contexts).repeat(lists_per)
    try:
        for step in range(state.step, config.steps):
            t0 = time.perf_counter()
            rng = np.random.default_rng(step_seed(config.seed, step, 0))
            generator = torch.Generator().manual_seed(step_seed(config.seed, step, 1))
            env_seed = step_seed(config.seed, step, 2)
            obs = env.reset(seed=env_seed)
            inputs = task.inputs(obs)
            w = _weights(config, rng, obs.n_sessions, m)
            batch = policy.batch(inputs, w)
            if lists_per > 1:
                batch = select_rows(batch, tiled_rows)
            with torch.no_grad():
                sampled = policy.decode(batch, k, generator=generator)
            lists = sampled.lists.numpy()
            parts = []
            for j in range(lists_per):
                if j:
                    env.reset(seed=env_seed)  # the same contexts and response draws again
                shown = task.sampled_objectives(env, lists[j * n_contexts : (j + 1) * n_contexts])
                parts.append(np.stack([shown[o] for o in objectives], axis=1))
            values = np.concatenate(parts)
            weights = np.tile(w, (lists_per, 1))
            if config.normalize_objectives:
                moments.update(values)
            scale = moments.std() if config.normalize_objectives else None
            value = baseline(batch) if lists_per == 1 else None
            reward, advantage, credit = advantages(
                values, weights, lists_per_context=lists_per, scale=scale, value=value
            )
            if credit is not None and config.credit_per_objective and policy.config.objective_heads:
                batch = replace(batch, credit=credit)
            else:
                credit = None
            if config.algorithm is Algorithm.PPO:
                loss = _ppo(
                    policy,
                    baseline if lists_per == 1 else None,
                    optimizer,
                    batch,
                    sampled.lists,
                    sampled.log_prob,
                    reward,
                    advantage,
                    credit is not None,
                    config,
                    generator,
                )
            else:
                loss = _reinforce(
                    policy,
                    optimizer,
                    batch,
                    sampled.lists,
                    reward,
                    advantage,
                    credit is not None,
                    value,
                    config,
                )
            raw = (values * weights).sum(axis=1)
            row = {
                "reward": float(raw.mean()),
                "loss": loss,
                "seconds": time.perf_counter() - t0,
            }
            row.update({o.value: float(values[:, i].mean()) for i, o in enumerate(objectives)})
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
                        config.batch_sessions,
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
                    state=TrainingState(
                        step + 1,
                        config.seed,
                        history,
                        {"objective_moments": moments.to_json()},
                    ),
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


def _reinforce(
    policy: PreferencePolicy,
    optimizer: torch.optim.Optimizer,
    batch: Batch,
    lists: torch.Tensor,
    reward: torch.Tensor,
    advantage: torch.Tensor,
    routed: bool,
    value: torch.Tensor | None,
    config: OnPolicyConfig,
) -> float:
    decoded = policy.decode(batch, int(lists.shape[1]), lists=lists)
    # routed: the batch carries each objective's advantage as credit (network.route_credit)
    weight = torch.ones_like(advantage) if routed else advantage
    loss: torch.Tensor = -(weight * decoded.log_prob).mean()
    if value is not None:  # the learned baseline, fitted to the (normalized) reward
        loss = loss + ((value - reward) ** 2).mean()
    if config.entropy_bonus:
        loss = loss + config.entropy_bonus * decoded.log_prob.mean()
    optimizer.zero_grad()
    torch.autograd.backward(loss)
    optimizer.step()
    return float(loss.detach())


def _ppo(
    policy: PreferencePolicy,
    baseline: Baseline | None,
    optimizer: torch.optim.Optimizer,
    batch: Batch,
    lists: torch.Tensor,
    old_log_prob: torch.Tensor,
    reward: torch.Tensor,
    advantage: torch.Tensor,
    routed: bool,
    config: OnPolicyConfig,
    generator: torch.Generator,
) -> float:
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
            if routed:  # the clipped objective's gradient, each head by its own credit
                active = (ratio * adv <= clipped * adv).float()
                surrogate = (active * ratio).mean()
            else:
                surrogate = torch.minimum(ratio * adv, clipped * adv).mean()
            loss: torch.Tensor = -surrogate
            if baseline is not None:
                loss = loss + ((baseline(sub) - reward[part]) ** 2).mean()
            if config.entropy_bonus:
                loss = loss + config.entropy_bonus * logp.mean()
            optimizer.zero_grad()
            torch.autograd.backward(loss)
            optimizer.step()
            total = float(loss.detach())
    return total
