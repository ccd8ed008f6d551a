"""Checkpoints and saved policies: safetensors for tensors, JSON for the rest (no pickle).

A training checkpoint holds the policy, the baseline, the optimizer's state (Adam's moment
estimates and step counts, and its hyperparameters), the step reached, the seed and the
history so far. Every random draw of training step t comes from generators seeded by
(seed, t), so (seed, step) is the whole random state, and resuming from a checkpoint
repeats exactly what an uninterrupted run would have done. Writes are atomic: the tensors
go to `checkpoint-<step>.safetensors`, then `checkpoint.json` naming it is replaced in one
`os.replace`, so a process killed at any moment leaves the previous checkpoint readable.

A saved policy (a model version folder) is `policy.safetensors` + `policy.json` (its
`PolicyConfig`, and whatever the trainer adds: the simulator spec, the predictor, scales).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from paretorec.policy.network import PolicyConfig, PreferencePolicy

CHECKPOINT_JSON = "checkpoint.json"
POLICY_TENSORS = "policy.safetensors"
POLICY_JSON = "policy.json"


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)


def _module_tensors(prefix: str, module: nn.Module) -> dict[str, torch.Tensor]:
    return {
        f"{prefix}.{k}": v.detach().clone().contiguous() for k, v in module.state_dict().items()
    }


def optimizer_tensors(
    optimizer: torch.optim.Optimizer,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The optimizer's per-parameter state as named tensors, and its param groups as JSON."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{index}.{key}"] = value.detach().clone().contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def load_optimizer(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    for index, entry in meta.get("scalars", {}).items():
        state.setdefault(int(index), {}).update(entry)
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


@dataclass(frozen=True)
class TrainingState:
    """What a checkpoint restores besides the tensors."""

    step: int
    seed: int
    history: list[dict[str, float]]
    extra: dict[str, Any]


def save_checkpoint(
    folder: Path,
    *,
    policy: PreferencePolicy,
    baseline: nn.Module | None,
    optimizer: torch.optim.Optimizer,
    state: TrainingState,
) -> Path:
    """Write a checkpoint atomically (see the module's notes); returns the JSON's path."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = _module_tensors("policy", policy)
    if baseline is not None:
        tensors.update(_module_tensors("baseline", baseline))
    optim_tensors, optim_meta = optimizer_tensors(optimizer)
    tensors.update(optim_tensors)
    name = f"checkpoint-{state.step:08d}.safetensors"
    tmp = folder / (name + ".tmp")
    save_file(tensors, str(tmp))
    tmp.replace(folder / name)
    _write_json(
        folder / CHECKPOINT_JSON,
        {
            "tensors": name,
            "step": state.step,
            "seed": state.seed,
            "config": policy.config.to_json(),
            "optimizer": optim_meta,
            "history": state.history,
            "extra": state.extra,
        },
    )
    for old in folder.glob("checkpoint-*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return folder / CHECKPOINT_JSON


def has_checkpoint(folder: Path) -> bool:
    return (folder / CHECKPOINT_JSON).is_file()


def load_checkpoint(
    folder: Path,
    *,
    policy: PreferencePolicy,
    baseline: nn.Module | None,
    optimizer: torch.optim.Optimizer,
) -> TrainingState:
    """Restore the tensors and optimizer in place; returns the step, seed and history."""
    path = folder / CHECKPOINT_JSON
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint in {folder} (expected {CHECKPOINT_JSON})")
    meta = json.loads(path.read_text())
    if PolicyConfig.from_json(meta["config"]) != policy.config:
        raise ValueError(f"the checkpoint in {folder} is of a policy with another config")
    tensors = load_file(str(folder / meta["tensors"]))
    policy.load_state_dict({k[7:]: v for k, v in tensors.items() if k.startswith("policy.")})
    if baseline is not None:
        baseline.load_state_dict(
            {k[9:]: v for k, v in tensors.items() if k.startswith("baseline.")}
        )
    load_optimizer(optimizer, tensors, meta["optimizer"])
    return TrainingState(
        step=int(meta["step"]), seed=int(meta["seed"]), history=meta["history"], extra=meta["extra"]
    )


def save_policy(folder: Path, policy: PreferencePolicy, *, extra: dict[str, Any]) -> None:
    """A model version: the policy's weights and config, and `extra` (JSON-able)."""
    folder.mkdir(parents=True, exist_ok=True)
    save_file(_module_tensors("policy", policy), str(folder / POLICY_TENSORS))
    _write_json(folder / POLICY_JSON, {"config": policy.config.to_json(), **extra})


def load_policy(folder: Path) -> tuple[PreferencePolicy, dict[str, Any]]:
    """The policy saved in `folder` (eval mode) and the rest of its JSON."""
    path = folder / POLICY_JSON
    if not path.is_file():
        raise FileNotFoundError(f"{folder} holds no saved policy (expected {POLICY_JSON})")
    meta = json.loads(path.read_text())
    policy = PreferencePolicy(PolicyConfig.from_json(meta.pop("config")))
    tensors = load_file(str(folder / POLICY_TENSORS))
    policy.load_state_dict({k[7:]: v for k, v in tensors.items() if k.startswith("policy.")})
    policy.eval()
    return policy, meta
