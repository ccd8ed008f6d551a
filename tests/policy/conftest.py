"""A tiny simulated shop and policy inputs shared by the policy tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paretorec.policy import (
    PolicyConfig,
    PolicyInput,
    PolicyObjective,
    PolicyVariant,
    SimulatorSpec,
    SimulatorTask,
    make_task,
)

torch.set_num_threads(1)

TINY_SPEC = SimulatorSpec(n_items=400, n_users=100, world_seed=3, lively=True, list_size=5)
TINY_OBJECTIVES = (PolicyObjective.CLICKS, PolicyObjective.REVENUE, PolicyObjective.DIVERSITY)


def tiny_task() -> SimulatorTask:
    return make_task(TINY_SPEC, TINY_OBJECTIVES, log_sessions=3000, seed=1)


@pytest.fixture(scope="session")
def task() -> SimulatorTask:
    return tiny_task()


def random_input(n: int, c: int, *, seed: int = 0, groups: int = 2) -> PolicyInput:
    rng = np.random.default_rng(seed)
    return PolicyInput(
        context=rng.normal(size=(n, 3)),
        item_features=rng.normal(size=(n, c, 4)),
        predictions={"click": rng.random((n, c)), "revenue": rng.random((n, c)) * 5},
        groups=rng.integers(0, 3, size=(n, c, groups)) if groups else None,
    )


def small_config(variant: PolicyVariant, *, groups: int = 2) -> PolicyConfig:
    return PolicyConfig(
        objectives=("clicks", "revenue", "diversity"),
        prediction_names=("click", "revenue"),
        context_dim=3,
        item_dim=4,
        links=(("clicks", "click"), ("revenue", "revenue")),
        n_groups=groups,
        variant=variant,
        hidden=16,
    )
