"""Two-tower retrieval: a user tower over her recent items, an item tower over one item.

Both towers start from `ItemInput` (text embedding through a linear map, plus an ID
embedding for items seen in training). The item tower adds a residual MLP; the user tower
pools her last `max_history` items with learned weights by age (softmax over the ages
present), adds a residual MLP; both outputs are unit length, so a user-item score is a
cosine and the item vectors go straight into the same `DenseIndex` that search uses.

Training: every next item of a training sequence is a positive for the history before
it; the other positives of the batch are the negatives (in-batch softmax with temperature
`temperature`), with the popularity correction ``logit - log q(item)`` (logQ, q the item's
share of training interactions, which is how often it appears as an in-batch negative);
other rows with the same target item are masked. The loop (`_neural.train_epochs`) stops
early on a `ValidationSet`'s metric, keeps the best epoch's weights and schedules the
learning rate (`TrainingConfig`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar, Self

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

from paretorec.retrieve.recommend._files import read_model
from paretorec.retrieve.recommend._neural import (
    ItemInput,
    LRSchedule,
    TrainingConfig,
    TrainingLog,
    ValidationMetric,
    ValidationSet,
    gathered,
    in_chunks,
    padded,
    read_network,
    train_epochs,
    validation_score,
    write_network,
)
from paretorec.retrieve.recommend.base import (
    Generator,
    History,
    NotFittedError,
    Progress,
    Source,
    TrainingData,
    check_histories,
)

__all__ = ["TwoTower"]

_KIND = "two-tower"
_CHUNK = 2048


class _Towers(nn.Module):
    def __init__(
        self,
        text_dim: int,
        dim: int,
        id_mask: NDArray[np.bool_],
        *,
        max_history: int,
        id_dropout: float,
        dropout: float,
    ) -> None:
        super().__init__()
        self.items = ItemInput(text_dim, dim, id_mask, id_dropout=id_dropout)
        self.item_head = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.user_head = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.age_logits = nn.Parameter(torch.zeros(max_history))
        self.dropout = nn.Dropout(dropout)

    def item_vectors(self, text: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        """Item tower of `indices`; `text` is the whole (n_items, text_dim) table."""
        x = gathered(self.items, text, indices)
        return F.normalize(x + self.item_head(x), dim=-1)

    def user_vectors(
        self, text: torch.Tensor, indices: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """Users from left-aligned histories (B, L) of the given lengths (>= 1)."""
        positions = torch.arange(indices.shape[1]).unsqueeze(0)
        valid = positions < lengths.unsqueeze(1)
        ages = (lengths.unsqueeze(1) - 1 - positions).clamp(min=0)
        weights = torch.softmax(self.age_logits[ages].masked_fill(~valid, -torch.inf), dim=1)
        x = gathered(self.items, text, indices)
        pooled = self.dropout((weights.unsqueeze(-1) * x).sum(dim=1))
        return F.normalize(pooled + self.user_head(pooled), dim=-1)


class TwoTower(Generator):
    """The two-tower generator (see the module docstring)."""

    source: ClassVar[Source] = Source.TWO_TOWER

    def __init__(
        self,
        *,
        dim: int = 64,
        max_history: int = 10,
        temperature: float = 0.07,
        logq_correction: bool = True,
        id_dropout: float = 0.1,
        dropout: float = 0.1,
        epochs: int = 30,
        batch_size: int = 1024,
        learning_rate: float = 1e-3,
        patience: int = 3,
        schedule: LRSchedule | str = LRSchedule.PLATEAU,
        warmup_epochs: float = 0.5,
        valid_metric: ValidationMetric | str = ValidationMetric.NDCG,
        seed: int = 0,
    ) -> None:
        if dim < 1 or max_history < 1 or batch_size < 2:
            raise ValueError("dim and max_history must be >= 1, batch_size >= 2")
        if temperature <= 0:
            raise ValueError("temperature must be > 0")
        if not (0.0 <= id_dropout < 1.0 and 0.0 <= dropout < 1.0):
            raise ValueError("id_dropout and dropout must be in [0, 1)")
        self.training = TrainingConfig(
            max_epochs=epochs,
            patience=patience,
            learning_rate=learning_rate,
            schedule=LRSchedule(schedule),
            warmup_epochs=warmup_epochs,
            metric=ValidationMetric(valid_metric),
        )
        self.dim = dim
        self.max_history = max_history
        self.temperature = temperature
        self.logq_correction = logq_correction
        self.id_dropout = id_dropout
        self.dropout = dropout
        self.batch_size = batch_size
        self.seed = seed
        self.training_log: TrainingLog | None = None
        self._net: _Towers | None = None

    @property
    def epochs(self) -> int:
        return self.training.max_epochs

    @property
    def validation_curve(self) -> list[float]:
        """The validation metric of each epoch run (empty without a validation set)."""
        return list(self.training_log.values) if self.training_log is not None else []

    def _config(self) -> dict[str, float | int | bool | str]:
        return {
            "dim": self.dim,
            "max_history": self.max_history,
            "temperature": self.temperature,
            "logq_correction": self.logq_correction,
            "id_dropout": self.id_dropout,
            "dropout": self.dropout,
            "batch_size": self.batch_size,
            "seed": self.seed,
            **self.training.as_dict(),
        }

    @property
    def net(self) -> _Towers:
        if self._net is None:
            raise NotFittedError("TwoTower is not fitted: call fit first")
        return self._net

    def _new_net(self, text_dim: int, id_mask: NDArray[np.bool_]) -> _Towers:
        return _Towers(
            text_dim,
            self.dim,
            id_mask,
            max_history=self.max_history,
            id_dropout=self.id_dropout,
            dropout=self.dropout,
        )

    def fit(
        self,
        data: TrainingData,
        *,
        on_progress: Progress = None,
        validation: ValidationSet | None = None,
        on_epoch: Callable[[int, float], None] | None = None,
    ) -> Self:
        """Train; `on_progress` counts optimizer steps (`steps_per_epoch(data)` an epoch),
        `on_epoch(epoch, value)` gets each epoch's validation metric (an exception it
        raises, such as a tuner's pruning signal, ends training). With `validation`,
        training stops early and keeps the best epoch's weights; `training_log` says
        what happened."""
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        net = self._new_net(data.text_vectors.shape[1], data.counts > 0)
        self._net = net
        histories, lengths, targets = self._pairs(data)
        if targets.size < 2:
            raise ValueError("two-tower training needs at least two next-item pairs")
        text = torch.from_numpy(data.text_vectors)
        log_q = torch.from_numpy(np.log(np.maximum(data.counts, 1.0) / data.counts.sum()))

        def step_loss(batch: NDArray[np.int64]) -> torch.Tensor | None:
            if batch.size < 2:
                return None
            hist = torch.from_numpy(histories[batch])
            target = torch.from_numpy(targets[batch])
            users = net.user_vectors(text, hist, torch.from_numpy(lengths[batch]))
            items = net.item_vectors(text, target)
            logits = users @ items.T / self.temperature
            if self.logq_correction:
                logits = logits - log_q[target].unsqueeze(0).to(logits.dtype)
            same = target.unsqueeze(0) == target.unsqueeze(1)
            logits = logits.masked_fill(same & ~torch.eye(batch.size, dtype=torch.bool), -1e9)
            return F.cross_entropy(logits, torch.arange(batch.size))

        evaluate = None
        if validation is not None:
            checked = validation

            def evaluate() -> float:
                scores = self.score(checked.histories, data.text_vectors)
                return validation_score(scores, checked, self.training.metric)

        self.training_log = train_epochs(
            net,
            self.training,
            n_rows=targets.size,
            batch_size=self.batch_size,
            rng=rng,
            step_loss=step_loss,
            evaluate=evaluate,
            on_progress=on_progress,
            on_epoch=on_epoch,
            k=validation.k if validation is not None else 10,
        )
        return self

    def steps_per_epoch(self, data: TrainingData) -> int:
        pairs = sum(max(0, s.size - 1) for s in data.sequences)
        return -(-pairs // self.batch_size)

    def _pairs(
        self, data: TrainingData
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """(history (P, L) left-aligned, its length, the next item) for every next item."""
        prefixes: list[History] = []
        targets: list[int] = []
        for sequence in data.sequences:
            for t in range(1, sequence.size):
                prefixes.append(sequence[max(0, t - self.max_history) : t])
                targets.append(int(sequence[t]))
        lengths = np.array([p.size for p in prefixes], dtype=np.int64)
        return padded(prefixes, self.max_history, 0), lengths, np.array(targets, dtype=np.int64)

    @torch.no_grad()
    def item_vectors(self, text_vectors: NDArray[np.float32]) -> NDArray[np.float32]:
        """The item tower's unit vector of every current item."""
        net = self.net
        net.eval()
        text = torch.from_numpy(np.ascontiguousarray(text_vectors, dtype=np.float32))

        def chunk(part: slice) -> NDArray[np.float32]:
            indices = torch.arange(part.start, part.stop)
            return net.item_vectors(text, indices).numpy()

        return in_chunks(text.shape[0], _CHUNK * 4, chunk, self.dim)

    @torch.no_grad()
    def user_vectors(
        self, histories: Sequence[History], text_vectors: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        """The user tower's unit vector of each history (an empty history: a zero row)."""
        net = self.net
        net.eval()
        checked = check_histories(histories, text_vectors.shape[0])
        text = torch.from_numpy(np.ascontiguousarray(text_vectors, dtype=np.float32))
        lengths = np.array([min(h.size, self.max_history) for h in checked], dtype=np.int64)
        matrix = padded(checked, self.max_history, 0)

        def chunk(part: slice) -> NDArray[np.float32]:
            hist = torch.from_numpy(matrix[part])
            size = torch.from_numpy(np.maximum(lengths[part], 1))
            vectors = net.user_vectors(text, hist, size).numpy()
            vectors[lengths[part] == 0] = 0.0
            return vectors

        return in_chunks(len(checked), _CHUNK, chunk, self.dim)

    def score(
        self, histories: Sequence[History], text_vectors: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        users = self.user_vectors(histories, text_vectors)
        return users @ self.item_vectors(text_vectors).T

    def save(self, folder: str | Path) -> None:
        net = self.net
        write_network(folder, _KIND, self._config(), net, net.items, self.training_log)

    @classmethod
    def load(cls, folder: str | Path) -> Self:
        config, arrays = read_model(folder, _KIND)
        training = TrainingConfig.from_dict(config)
        model = cls(
            dim=int(config["dim"]),
            max_history=int(config["max_history"]),
            temperature=float(config["temperature"]),
            logq_correction=bool(config["logq_correction"]),
            id_dropout=float(config["id_dropout"]),
            dropout=float(config["dropout"]),
            epochs=training.max_epochs,
            batch_size=int(config["batch_size"]),
            learning_rate=training.learning_rate,
            patience=training.patience,
            schedule=training.schedule,
            warmup_epochs=training.warmup_epochs,
            valid_metric=training.metric,
            seed=int(config["seed"]),
        )
        net, model.training_log = read_network(config, arrays, model._new_net)
        model._net = net
        return model
