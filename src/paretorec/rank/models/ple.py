"""PLE: progressive layered extraction (Tang et al., RecSys 2020).

Each level (a customized gate control unit) has shared experts and experts of each task;
a task's gate mixes its own and the shared experts, and, below the last level, a shared
gate mixes all experts into the next level's shared input. Separating task experts
from shared ones eases the seesaw between conflicting tasks.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import Tensor, nn

from paretorec.rank.config import RankerConfig
from paretorec.rank.features import FeatureSpec
from paretorec.rank.models.base import MultiTaskModel, Tower, mlp


def _experts(n: int, sizes: tuple[int, ...], in_dim: int, dropout: float) -> nn.ModuleList:
    return nn.ModuleList([mlp(sizes, in_dim, dropout) for _ in range(n)])


class _Level(nn.Module):
    def __init__(
        self, tasks: tuple[str, ...], config: RankerConfig, in_dim: int, *, last: bool
    ) -> None:
        super().__init__()
        self.tasks = tasks
        n_s, n_t = config.n_shared_experts, config.n_task_experts
        self.shared = _experts(n_s, config.hidden, in_dim, config.dropout)
        self.own = nn.ModuleDict(
            {t: _experts(n_t, config.hidden, in_dim, config.dropout) for t in tasks}
        )
        self.task_gates = nn.ModuleDict({t: nn.Linear(in_dim, n_s + n_t) for t in tasks})
        self.shared_gate = None if last else nn.Linear(in_dim, n_s + n_t * len(tasks))

    def forward(
        self, task_inputs: dict[str, Tensor], shared_input: Tensor
    ) -> tuple[dict[str, Tensor], Tensor | None]:
        shared = [e(shared_input) for e in self.shared]
        own = {t: [e(task_inputs[t]) for e in cast(nn.ModuleList, self.own[t])] for t in self.tasks}
        out: dict[str, Tensor] = {}
        for t in self.tasks:
            experts = torch.stack(own[t] + shared, dim=1)
            gate = torch.softmax(self.task_gates[t](task_inputs[t]), dim=-1).unsqueeze(-1)
            out[t] = (gate * experts).sum(dim=1)
        if self.shared_gate is None:
            return out, None
        everything = torch.stack([x for t in self.tasks for x in own[t]] + shared, dim=1)
        gate = torch.softmax(self.shared_gate(shared_input), dim=-1).unsqueeze(-1)
        return out, (gate * everything).sum(dim=1)


class PLE(MultiTaskModel):
    def __init__(self, spec: FeatureSpec, config: RankerConfig, tasks: tuple[str, ...]) -> None:
        super().__init__(spec, config, tasks)
        d = self.encoder.out_dim
        self.levels = nn.ModuleList(
            [
                _Level(
                    self.tasks,
                    config,
                    d if i == 0 else config.hidden[-1],
                    last=i == config.n_levels - 1,
                )
                for i in range(config.n_levels)
            ]
        )
        self.towers = nn.ModuleDict(
            {t: Tower(config.tower, config.hidden[-1], config.dropout) for t in self.tasks}
        )

    def heads(self, z: Tensor) -> dict[str, Tensor]:
        task_inputs = dict.fromkeys(self.tasks, z)
        shared: Tensor | None = z
        for level in self.levels:
            assert shared is not None
            task_inputs, shared = level(task_inputs, shared)
        return {t: self.towers[t](task_inputs[t]) for t in self.tasks}
