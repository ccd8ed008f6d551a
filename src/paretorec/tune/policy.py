"""The policy's search space: PPO's hyperparameters and the network's size, in the simulator.

A trial trains a preference-conditioned policy with PPO on `sessions` sessions of the
simulated shop (the shop and its predictor are built once, for every trial) and serves it
greedily for each w of the simplex grid of step 1/3 on the validation sessions (seeded
apart from training and from test), measuring each list's exact expected objectives.

Objectives, all maximized: the hypervolume of that served front, and each objective's
value where w puts all its weight on it (``clicks@w`` ...: how far the policy goes for that
objective when asked to). The hypervolume is measured in units of the uniformly random
policy on the same sessions (each objective divided by the random lists' value, the
reference point at the origin), so it is one fixed yardstick for every trial of the study;
beyond three objectives it is moocore's (`paretorec.moo.hypervolume`). The intermediate
figure for pruning is the mean training reward over each quarter of the steps. The test
figures are the same on test sessions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch

from paretorec.moo.hypervolume import hypervolume
from paretorec.policy.checkpoint import save_policy
from paretorec.policy.front import ServedFront, front_of, policy_rank_fn
from paretorec.policy.inputs import FloatArray, IntArray, PolicyInput
from paretorec.policy.network import PolicyVariant, PreferencePolicy
from paretorec.policy.onpolicy import Algorithm, OnPolicyConfig, Progress, train_on_policy
from paretorec.policy.simulator import SimulatorTask, policy_config, simulator_meta
from paretorec.preference import simplex_grid
from paretorec.simulate import Observation
from paretorec.tune.options import TunableStage
from paretorec.tune.study import EpochHook
from paretorec.types import Direction

__all__ = ["PolicyTuning", "TunedPolicy", "front_figures"]

VALID_SEED = 7_001  # the validation sessions' seed; test uses TEST_SEED (training: (seed, t))
TEST_SEED = 9_001
QUARTERS = 4  # intermediate figures per trial, for pruning


@dataclass(frozen=True, eq=False)
class TunedPolicy:
    """A trained policy and the task it learned in (what its model version saves)."""

    policy: PreferencePolicy
    task: SimulatorTask

    def save(self, folder: Path) -> None:
        save_policy(folder, self.policy, extra=simulator_meta(self.task))


def _random_rank_fn(k: int, seed: int) -> Any:
    def fn(obs: Observation, inputs: PolicyInput, w: FloatArray) -> IntArray:
        rng = np.random.default_rng(seed)
        order: IntArray = np.argsort(rng.random((obs.n_sessions, obs.n_candidates)), axis=1)
        return order[:, :k].astype(np.int64)

    return fn


def front_figures(front: ServedFront, unit: FloatArray) -> dict[str, float]:
    """``hypervolume`` of `front` in units of `unit` (reference: the origin), and each
    objective's value at the vertex of the grid where w is all on it."""
    values = front.values / unit
    m = values.shape[1]
    found = {"hypervolume": hypervolume(values, np.zeros(m), [Direction.MAXIMIZE] * m).value}
    for j, name in enumerate(front.objectives):
        vertex = int(np.argmax(front.weights[:, j]))
        found[f"{name}@w"] = float(front.values[vertex, j])
    return found


@dataclass(frozen=True, eq=False)
class PolicyTuning:
    """Tunes PPO in `task`: `sessions` training sessions a trial (in steps of `batch`),
    the front served on `eval_sessions` validation (and test) sessions."""

    task: SimulatorTask
    sessions: int = 30_000
    batch: int = 256
    eval_sessions: int = 1000
    seed: int = 0
    _grid: FloatArray = field(init=False)
    _units: dict[int, FloatArray] = field(init=False)

    def __post_init__(self) -> None:
        if self.batch < 8 or self.batch % 4:
            raise ValueError(f"batch must be a multiple of 4 and >= 8, got {self.batch}")
        if self.sessions < self.batch or self.eval_sessions < 1:
            raise ValueError("sessions must be >= batch and eval_sessions >= 1")
        object.__setattr__(self, "_grid", simplex_grid(len(self.task.objectives), 3))
        units: dict[int, FloatArray] = {}
        k = self.task.spec.list_size
        for seed in (VALID_SEED, TEST_SEED):
            random = front_of(
                self.task,
                _random_rank_fn(k, seed),
                self._grid[:1],
                n_sessions=self.eval_sessions,
                seed=seed,
            )
            unit = random.values[0]
            if not np.all(unit > 0):
                raise ValueError(
                    f"the random lists score {unit.tolist()} on {random.objectives}: each "
                    "objective must be positive to be a unit (more eval sessions?)"
                )
            units[seed] = unit
        object.__setattr__(self, "_units", units)

    @property
    def stage(self) -> TunableStage:
        return TunableStage.POLICY

    @property
    def objectives(self) -> tuple[str, ...]:
        return ("hypervolume", *(f"{o.value}@w" for o in self.task.objectives))

    @property
    def steps(self) -> int:
        return max(1, self.sessions // self.batch)

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        trial.suggest_float("learning_rate", 3e-4, 1e-2, log=True)
        trial.suggest_float("baseline_learning_rate", 1e-3, 3e-2, log=True)
        trial.suggest_float("entropy_bonus", 0.0, 0.02)
        trial.suggest_float("ppo_clip", 0.05, 0.4)
        trial.suggest_int("ppo_epochs", 1, 6)
        trial.suggest_categorical("ppo_minibatches", [1, 2, 4, 8])
        trial.suggest_categorical("lists_per_context", [2, 4])
        trial.suggest_float("weight_concentration", 0.2, 2.0, log=True)
        trial.suggest_categorical("hidden", [32, 64, 128])
        trial.suggest_int("layers", 1, 3)
        return dict(trial.params)

    def default_params(self) -> dict[str, Any]:
        """`paretorec train policy --simulator --algorithm ppo`'s configuration."""
        run = OnPolicyConfig(algorithm=Algorithm.PPO)
        return {
            "learning_rate": run.learning_rate,
            "baseline_learning_rate": run.baseline_learning_rate,
            "entropy_bonus": run.entropy_bonus,
            "ppo_clip": run.ppo_clip,
            "ppo_epochs": run.ppo_epochs,
            "ppo_minibatches": run.ppo_minibatches,
            "lists_per_context": run.lists_per_context,
            "weight_concentration": run.weight_concentration,
            "hidden": 64,
            "layers": 2,
        }

    def run_config(self, params: Mapping[str, Any]) -> OnPolicyConfig:
        return OnPolicyConfig(
            algorithm=Algorithm.PPO,
            steps=self.steps,
            batch_sessions=self.batch,
            learning_rate=float(params["learning_rate"]),
            baseline_learning_rate=float(params["baseline_learning_rate"]),
            entropy_bonus=float(params["entropy_bonus"]),
            ppo_clip=float(params["ppo_clip"]),
            ppo_epochs=int(params["ppo_epochs"]),
            ppo_minibatches=int(params["ppo_minibatches"]),
            lists_per_context=int(params["lists_per_context"]),
            weight_concentration=float(params["weight_concentration"]),
            checkpoint_every=0,
            seed=self.seed,
        )

    def fit(
        self, params: Mapping[str, Any], *, on_epoch: EpochHook | None = None, final: bool = False
    ) -> TunedPolicy:
        run = self.run_config(params)
        torch.manual_seed(self.seed)
        config = policy_config(
            self.task,
            variant=PolicyVariant.PLACKETT_LUCE,
            hidden=int(params["hidden"]),
            layers=int(params["layers"]),
        )
        policy = PreferencePolicy(config)
        per_quarter = max(1, self.steps // QUARTERS)
        rewards: list[float] = []

        def heard(progress: Progress) -> None:
            rewards.append(progress.reward)
            if on_epoch is not None and len(rewards) % per_quarter == 0:
                quarter = len(rewards) // per_quarter - 1
                on_epoch("reward", quarter, float(np.mean(rewards[-per_quarter:])))

        train_on_policy(policy, self.task, run, on_progress=heard)
        return TunedPolicy(policy, self.task)

    def _figures(self, model: TunedPolicy, seed: int) -> dict[str, float]:
        front = front_of(
            self.task,
            policy_rank_fn(model.policy, self.task.spec.list_size),
            self._grid,
            n_sessions=self.eval_sessions,
            seed=seed,
        )
        return front_figures(front, self._units[seed])

    def validate(self, model: TunedPolicy) -> tuple[float, ...]:
        figures = self._figures(model, VALID_SEED)
        return tuple(figures[name] for name in self.objectives)

    def test(self, model: TunedPolicy) -> dict[str, float]:
        return self._figures(model, TEST_SEED)
