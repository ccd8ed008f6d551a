"""What every multi-task model shares: the batch, the input layer and the contract.

A model maps a `Batch` to a dict from task name to logits of shape (batch,). It is split
into `represent` (the representation every task reads: the hashed id embeddings, text
projections, position embedding and standardized dense features, plus a shared bottom
where the architecture has one) and `heads` (everything above it), so a Pareto method
such as MGDA-UB can take the task gradients on the shared representation alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from paretorec.rank.config import RankerConfig
from paretorec.rank.features import FeatureSpec

EPS = 1e-6


@dataclass(frozen=True)
class Batch:
    """Tensors of one batch: `text` (b, n_text_fields, d) is zeros for missing fields."""

    ids: Tensor  # (b, n_id_fields) int64 buckets
    dense: Tensor  # (b, n_dense) float32, raw
    position: Tensor  # (b,) int64
    text: Tensor  # (b, n_text_fields, text_dimension)

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def mlp(sizes: tuple[int, ...], in_dim: int, dropout: float) -> nn.Sequential:
    """Linear + ReLU (+ dropout) layers of the given widths."""
    layers: list[nn.Module] = []
    prev = in_dim
    for size in sizes:
        layers += [nn.Linear(prev, size), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        prev = size
    return nn.Sequential(*layers)


class Tower(nn.Module):
    """A task's MLP ending in one logit."""

    def __init__(self, sizes: tuple[int, ...], in_dim: int, dropout: float) -> None:
        super().__init__()
        self.body = mlp(sizes, in_dim, dropout)
        self.out = nn.Linear(sizes[-1], 1)

    def forward(self, x: Tensor) -> Tensor:
        logits: Tensor = self.out(self.body(x)).squeeze(-1)
        return logits


class FeatureEncoder(nn.Module):
    """Input layer: concatenation of id embeddings, text projections, a position
    embedding and the dense features standardized with the training set's statistics
    (kept as buffers, so they are saved with the weights)."""

    offsets: Tensor
    dense_mean: Tensor
    dense_std: Tensor

    def __init__(self, spec: FeatureSpec, config: RankerConfig) -> None:
        super().__init__()
        self.n_fields = len(spec.id_fields)
        self.n_buckets = spec.n_buckets
        self.ids = nn.Embedding(self.n_fields * spec.n_buckets, config.id_dim)
        nn.init.normal_(self.ids.weight, std=0.01)
        self.register_buffer("offsets", torch.arange(self.n_fields) * spec.n_buckets)
        self.text = nn.ModuleList(
            [nn.Linear(spec.text_dimension, config.text_dim) for _ in spec.text_fields]
            if spec.text_dimension > 0
            else []
        )
        self.position = nn.Embedding(spec.max_position + 1, config.position_dim)
        n_dense = len(spec.dense_names)
        self.register_buffer("dense_mean", torch.zeros(n_dense))
        self.register_buffer("dense_std", torch.ones(n_dense))
        self.out_dim = (
            self.n_fields * config.id_dim
            + len(self.text) * config.text_dim
            + config.position_dim
            + n_dense
        )

    def set_dense_statistics(self, mean: Tensor, std: Tensor) -> None:
        self.dense_mean.copy_(mean)
        # a feature constant in training keeps scale 1: dividing by ~0 would blow up
        # any row that differs at serving time (a cold user, a new price)
        self.dense_std.copy_(torch.where(std > EPS, std, torch.ones_like(std)))

    def forward(self, batch: Batch) -> Tensor:
        ids = self.ids(batch.ids + self.offsets).flatten(1)
        parts = [ids]
        for j, projection in enumerate(self.text):
            parts.append(projection(batch.text[:, j, :]))
        parts.append(self.position(batch.position))
        parts.append((batch.dense - self.dense_mean) / self.dense_std)
        return torch.cat(parts, dim=1)


class MultiTaskModel(nn.Module):
    """The contract: `forward(batch) = heads(represent(batch))`, a dict task -> logits.

    `tasks` are the outputs trained against labels; a model may add further named
    outputs (ESMM's conditional probabilities).
    """

    tasks: tuple[str, ...]

    def __init__(self, spec: FeatureSpec, config: RankerConfig, tasks: tuple[str, ...]) -> None:
        super().__init__()
        if not tasks:
            raise ValueError("a model needs at least one task")
        if len(set(tasks)) != len(tasks):
            raise ValueError(f"task names must be distinct, got {tasks}")
        self.tasks = tuple(tasks)
        self.spec = spec
        self.config = config
        self.encoder = FeatureEncoder(spec, config)

    def represent(self, batch: Batch) -> Tensor:
        """The representation every task reads (MGDA-UB's shared Z)."""
        return self.from_encoded(self.encoder(batch))

    def from_encoded(self, encoded: Tensor) -> Tensor:
        """The representation from the input layer's output (APR perturbs the id
        embeddings there, the first `n_fields * id_dim` columns)."""
        return encoded

    @property
    def representation_dim(self) -> int:
        return self.encoder.out_dim

    def heads(self, z: Tensor) -> dict[str, Tensor]:
        raise NotImplementedError

    def output_priors(self, rates: dict[str, float]) -> dict[str, float]:
        """The probability each tower's output should start at, given the tasks' base
        rates: the rate itself (ESMM: the conditional rate)."""
        return {t: rates[t] for t in self.tasks}

    @torch.no_grad()
    def set_priors(self, rates: dict[str, float]) -> None:
        """Start every tower's output bias at the logit of its prior, so training starts
        calibrated instead of at p = 0.5 (matters for rare tasks and short runs)."""
        towers = getattr(self, "towers", None)
        if not isinstance(towers, nn.ModuleDict):
            return
        for task, prior in self.output_priors(rates).items():
            p = min(max(prior, EPS), 1.0 - EPS)
            tower = towers[task]
            assert isinstance(tower, Tower)
            tower.out.bias.fill_(float(torch.logit(torch.tensor(p))))

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        return self.heads(self.represent(batch))
