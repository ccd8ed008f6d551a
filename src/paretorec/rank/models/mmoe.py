"""MMoE: experts shared by all tasks, mixed by a softmax gate per task (Ma et al., KDD 2018)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from paretorec.rank.config import RankerConfig
from paretorec.rank.features import FeatureSpec
from paretorec.rank.models.base import MultiTaskModel, Tower, mlp


class MMoE(MultiTaskModel):
    def __init__(self, spec: FeatureSpec, config: RankerConfig, tasks: tuple[str, ...]) -> None:
        super().__init__(spec, config, tasks)
        d = self.encoder.out_dim
        self.experts = nn.ModuleList(
            [mlp(config.hidden, d, config.dropout) for _ in range(config.n_experts)]
        )
        self.gates = nn.ModuleDict({t: nn.Linear(d, config.n_experts) for t in self.tasks})
        self.towers = nn.ModuleDict(
            {t: Tower(config.tower, config.hidden[-1], config.dropout) for t in self.tasks}
        )

    def gate_weights(self, z: Tensor) -> dict[str, Tensor]:
        """Each task's mixture over the experts, (b, n_experts), rows summing to 1."""
        return {t: torch.softmax(self.gates[t](z), dim=-1) for t in self.tasks}

    def heads(self, z: Tensor) -> dict[str, Tensor]:
        experts = torch.stack([e(z) for e in self.experts], dim=1)  # (b, n_experts, h)
        gates = self.gate_weights(z)
        return {
            t: self.towers[t]((gates[t].unsqueeze(-1) * experts).sum(dim=1)) for t in self.tasks
        }
