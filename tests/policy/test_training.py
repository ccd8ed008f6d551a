"""Training in the simulator: learns, logs, checkpoints, and resumes exactly after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from paretorec.policy import (
    Algorithm,
    OnPolicyConfig,
    PolicyVariant,
    PreferencePolicy,
    SimulatorTask,
    load_policy,
    policy_config,
    save_policy,
    served_front,
    simulator_meta,
    train_on_policy,
)
from paretorec.preference import simplex_grid

ROOT = Path(__file__).resolve().parents[2]
RUN = OnPolicyConfig(steps=8, batch_sessions=64, checkpoint_every=2, seed=5)

KILLED_RUN = f"""
import sys, time, torch
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from tests.policy.conftest import tiny_task
from tests.policy.test_training import RUN
from paretorec.policy import PreferencePolicy, policy_config, train_on_policy
task = tiny_task()
torch.manual_seed(0)
policy = PreferencePolicy(policy_config(task, hidden=16))
print("ready", flush=True)
train_on_policy(policy, task, RUN, checkpoint_dir=Path(sys.argv[1]),
                on_progress=lambda p: time.sleep(0.4))
"""


def _params(policy: PreferencePolicy) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in policy.state_dict().items()}


def _fresh(
    task: SimulatorTask, variant: PolicyVariant = PolicyVariant.PLACKETT_LUCE
) -> PreferencePolicy:
    torch.manual_seed(0)
    return PreferencePolicy(policy_config(task, variant=variant, hidden=16))


def test_resume_after_kill_gives_the_uninterrupted_result(
    task: SimulatorTask, tmp_path: Path
) -> None:
    folder = tmp_path / "ckpt"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(folder)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    try:
        deadline = time.monotonic() + 90
        step = 0
        while time.monotonic() < deadline and step < 4:
            time.sleep(0.1)
            meta = folder / "checkpoint.json"
            if meta.is_file():
                step = json.loads(meta.read_text())["step"]
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    killed_at = json.loads((folder / "checkpoint.json").read_text())["step"]
    assert 4 <= killed_at < RUN.steps

    resumed = _fresh(task)
    result = train_on_policy(resumed, task, RUN, checkpoint_dir=folder, resume=True)
    assert result.steps == RUN.steps
    straight = _fresh(task)
    reference = train_on_policy(straight, task, RUN)
    for name, value in _params(straight).items():
        assert torch.equal(value, _params(resumed)[name]), name
    assert [h["reward"] for h in result.history] == [h["reward"] for h in reference.history]


@pytest.mark.parametrize("variant", list(PolicyVariant))
@pytest.mark.parametrize("algorithm", [Algorithm.REINFORCE, Algorithm.PPO])
def test_training_is_seeded_and_logs_each_objective(
    task: SimulatorTask, tmp_path: Path, variant: PolicyVariant, algorithm: Algorithm
) -> None:
    run = OnPolicyConfig(
        algorithm=algorithm, steps=3, batch_sessions=32, seed=1, ppo_epochs=1, ppo_minibatches=2
    )
    a, b = _fresh(task, variant), _fresh(task, variant)
    seen: list[int] = []
    train_on_policy(
        a, task, run, log_dir=tmp_path / "tb", on_progress=lambda p: seen.append(p.step)
    )
    train_on_policy(b, task, run)
    assert seen == [1, 2, 3]
    for name, value in _params(a).items():
        assert torch.equal(value, _params(b)[name])
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {
        "objective/clicks",
        "objective/revenue",
        "objective/diversity",
        "reward/weighted",
    } <= tags
    assert len(events.Scalars("objective/clicks")) == 3


def test_a_policy_for_clicks_learns_more_clicks(task: SimulatorTask) -> None:
    policy = _fresh(task)
    run = OnPolicyConfig(steps=40, batch_sessions=128, seed=2, fixed_weights=(1.0, 0.0, 0.0))
    result = train_on_policy(policy, task, run)
    first = np.mean([h["clicks"] for h in result.history[:8]])
    last = np.mean([h["clicks"] for h in result.history[-8:]])
    assert last > first


def test_saved_policy_serves_its_front(task: SimulatorTask, tmp_path: Path) -> None:
    policy = _fresh(task)
    save_policy(tmp_path / "v1", policy, extra=simulator_meta(task))
    loaded, _meta = load_policy(tmp_path / "v1")
    for name, value in _params(policy).items():
        assert torch.equal(value, _params(loaded)[name])
    grid = simplex_grid(3, 1)
    front = served_front(tmp_path / "v1", grid, n_sessions=50, seed=3)
    assert front.objectives == ("clicks", "revenue", "diversity")
    assert front.values.shape == (3, 3)
    assert (front.values >= 0).all()
    assert np.isfinite(front.values).all()
    assert (front.values[:, 2] <= 1.0).all()  # diversity is a share


def test_off_policy_algorithm_is_not_an_on_policy_option() -> None:
    with pytest.raises(ValueError, match="train_off_policy"):
        OnPolicyConfig(algorithm=Algorithm.OFFPOLICY)
