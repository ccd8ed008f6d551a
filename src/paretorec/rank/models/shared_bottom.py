"""Shared-Bottom: one MLP shared by all tasks, then a tower per task (Caruana, 1997)."""

from __future__ import annotations

from torch import Tensor, nn

from paretorec.rank.config import RankerConfig
from paretorec.rank.features import FeatureSpec
from paretorec.rank.models.base import MultiTaskModel, Tower, mlp


class SharedBottom(MultiTaskModel):
    def __init__(self, spec: FeatureSpec, config: RankerConfig, tasks: tuple[str, ...]) -> None:
        super().__init__(spec, config, tasks)
        self.bottom = mlp(config.hidden, self.encoder.out_dim, config.dropout)
        self.towers = nn.ModuleDict(
            {t: Tower(config.tower, config.hidden[-1], config.dropout) for t in self.tasks}
        )

    def from_encoded(self, encoded: Tensor) -> Tensor:
        z: Tensor = self.bottom(encoded)
        return z

    @property
    def representation_dim(self) -> int:
        return self.config.hidden[-1]

    def heads(self, z: Tensor) -> dict[str, Tensor]:
        return {t: self.towers[t](z) for t in self.tasks}
