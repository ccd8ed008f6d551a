"""Train a preference-conditioned policy in the simulated shop, start to finish.

The one recipe the CLI (`paretorec train policy --simulator`) and the demo share: build
the shop, fit the predictor on its uniformly random logs, train on-policy with w drawn
per session, and return what a model version needs (the save function, its config and
its metrics).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from paretorec.policy.checkpoint import save_policy
from paretorec.policy.network import PolicyVariant, PreferencePolicy
from paretorec.policy.onpolicy import Algorithm, OnPolicyConfig, TrainingResult, train_on_policy
from paretorec.policy.rewards import parse_objectives
from paretorec.policy.simulator import (
    SimulatorSpec,
    SimulatorTask,
    make_task,
    policy_config,
    simulator_meta,
)
from paretorec.simulate import World


@dataclass(frozen=True)
class SimulatorRun:
    """A trained policy, the task it learned in, and what its model version records."""

    policy: PreferencePolicy
    task: SimulatorTask
    result: TrainingResult
    config: dict[str, Any]
    metrics: dict[str, float]

    def save(self, folder: Path) -> None:
        save_policy(folder, self.policy, extra=simulator_meta(self.task))


def train_in_simulator(
    spec: SimulatorSpec,
    objectives: list[str],
    *,
    algorithm: Algorithm = Algorithm.REINFORCE,
    variant: PolicyVariant = PolicyVariant.PLACKETT_LUCE,
    sessions: int = 30_000,
    batch: int = 256,
    log_sessions: int = 20_000,
    seed: int = 0,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    on_task_ready: Callable[[int], None] | None = None,
    on_step: Callable[[int], None] | None = None,
    world: World | None = None,
) -> SimulatorRun:
    """`sessions // batch` steps of on-policy training (at least one); `on_task_ready`
    is called once the shop and predictor exist with the number of steps to come, and
    `on_step` after each step. `world` replaces the world of `spec` (a shop over a real
    catalog: the policy then learns on that catalog's items)."""
    algorithm = Algorithm(algorithm)
    if algorithm is Algorithm.OFFPOLICY:
        raise ValueError("off-policy learning reads logs: use train_off_policy")
    names = parse_objectives(objectives)
    steps = max(1, sessions // batch)
    # Checked before the shop is built, so a bad setting fails at once.
    run = OnPolicyConfig(algorithm=algorithm, steps=steps, batch_sessions=batch, seed=seed)
    task = make_task(spec, names, log_sessions=log_sessions, seed=seed, world=world)
    torch.manual_seed(seed)
    policy = PreferencePolicy(policy_config(task, variant=PolicyVariant(variant)))
    if on_task_ready is not None:
        on_task_ready(steps)
    result = train_on_policy(
        policy,
        task,
        run,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
        log_dir=checkpoint_dir / "tensorboard" if checkpoint_dir is not None else None,
        on_progress=(lambda _: on_step(1)) if on_step is not None else None,
    )
    tail = result.history[-10:]
    metrics = {"final_reward": sum(h["reward"] for h in tail) / len(tail)}
    metrics.update({f"final_{o.value}": sum(h[o.value] for h in tail) / len(tail) for o in names})
    metrics["sessions_per_second"] = result.sessions_per_second
    config: dict[str, Any] = {
        "mode": "simulator",
        "algorithm": algorithm.value,
        "variant": PolicyVariant(variant).value,
        "steps": steps,
        "batch": batch,
        "seed": seed,
        "objectives": [o.value for o in names],
        "simulator": spec.to_json(),
    }
    return SimulatorRun(policy, task, result, config, metrics)
