"""The served front: a policy's objective values for each w of a grid, measured in the
simulator with the exact expected feedback (the truth the policy never sees).

Every w is served on the same sessions (common random numbers), so the differences
between points are the policy's, not the sessions'. `front_of` measures any ranking
function the same way (the scalarized baseline, MMR, DPP, a policy per w).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from paretorec.policy.checkpoint import load_policy
from paretorec.policy.inputs import FloatArray, IntArray, PolicyInput
from paretorec.policy.network import PreferencePolicy
from paretorec.policy.predictors import LoggedFeedbackModel
from paretorec.policy.rewards import RewardScales, parse_objectives
from paretorec.policy.serving import rank
from paretorec.policy.simulator import SimulatorSpec, SimulatorTask
from paretorec.preference import check_simplex
from paretorec.simulate import Observation

RankFn = Callable[[Observation, PolicyInput, FloatArray], IntArray]
"""(observation, policy input, w (m,)) -> lists (n, k) of candidate indices."""


@dataclass(frozen=True)
class ServedFront:
    """One row per w: the weights (g, m) and the mean objective values (g, m), both in
    `objectives` order."""

    objectives: tuple[str, ...]
    weights: FloatArray
    values: FloatArray


def front_of(
    task: SimulatorTask,
    rank_fn: RankFn,
    weights: ArrayLike,
    *,
    n_sessions: int = 2000,
    seed: int = 12345,
    on_progress: Callable[[int], None] | None = None,
) -> ServedFront:
    """Mean exact objectives of `rank_fn`'s lists for each row of `weights`."""
    m = len(task.objectives)
    grid = check_simplex(weights, m, n_requests=len(np.atleast_2d(weights)))
    env = task.env(n_sessions, seed=seed)
    obs = env.reset(seed=seed)
    inputs = task.inputs(obs)
    values = np.empty((grid.shape[0], m))
    for g, w in enumerate(grid):
        lists = rank_fn(obs, inputs, w)
        measured = task.expected_objectives(env, lists)
        values[g] = [float(measured[o].mean()) for o in task.objectives]
        if on_progress is not None:
            on_progress(1)
    return ServedFront(tuple(o.value for o in task.objectives), grid, values)


def policy_rank_fn(policy: PreferencePolicy, k: int) -> RankFn:
    """Greedy decoding of `policy` as a ranking function."""

    def fn(obs: Observation, inputs: PolicyInput, w: FloatArray) -> IntArray:
        return rank(policy, inputs, w, k).items

    return fn


def task_from_saved(meta: dict[str, object], policy: PreferencePolicy) -> SimulatorTask:
    """The simulator task a saved policy was trained in (from its policy.json)."""
    sim = meta.get("simulator")
    if not isinstance(sim, dict):
        raise ValueError(
            "this policy was not trained in the simulator: its served front needs one "
            "(policy.json has no 'simulator' entry)"
        )
    spec = SimulatorSpec.from_json(sim["spec"])
    scales = RewardScales(**{k: float(v) for k, v in sim["scales"].items()})
    predictor = LoggedFeedbackModel.from_json(sim["predictor"])
    objectives = parse_objectives(list(policy.config.objectives))
    return SimulatorTask(spec, spec.world(), objectives, predictor, scales)


def served_front(
    folder: Path,
    weights: ArrayLike,
    *,
    n_sessions: int = 2000,
    seed: int = 12345,
    on_progress: Callable[[int], None] | None = None,
) -> ServedFront:
    """The front a saved policy (a model version folder) serves: for each w of the grid
    `weights` (g, m), greedy lists on the same `n_sessions` simulated sessions and their
    exact expected objectives."""
    policy, meta = load_policy(folder)
    task = task_from_saved(meta, policy)
    return front_of(
        task,
        policy_rank_fn(policy, task.spec.list_size),
        weights,
        n_sessions=n_sessions,
        seed=seed,
        on_progress=on_progress,
    )
