"""A SASRec-like sequential model whose item inputs include the text embedding.

The user's last `max_length` items (`ItemInput`: text through a linear map plus an ID
embedding for items seen in training), scaled by sqrt(dim), plus learned position
embeddings, go through `layers` causal pre-norm transformer blocks; the state after the
latest item, dotted with every item's `ItemInput` vector (shared input and output item
vectors, as in SASRec), scores the next item. An item never seen in training is its
text alone on both sides, so it can be recommended and recommended from.

Training: every next-item pair of the training sequences, in windows of at most
``max_length + 1`` items (a short window keeps a CPU step cheap and drops no pair); every
position predicts the item after it by softmax cross-entropy, over the full catalog
(RecBole's ``loss_type="CE"``) when `negatives` is ``"full"``, otherwise a sampled
softmax over the batch's distinct target items (``"in-batch"``) plus `uniform_negatives`
items drawn uniformly from the catalog (``"mixed"``, the default: the uniform draws also
push down rare and text-only items that in-batch sampling almost never shows), each
logit corrected by ``- log E[times the item is drawn]`` (logQ, `mixed_log_q`), several
times faster than the full softmax on a CPU. The loop (`_neural.train_epochs`) stops
early on a `ValidationSet`'s metric, keeps the best epoch's weights and schedules the
learning rate (`TrainingConfig`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from enum import StrEnum
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

__all__ = ["Negatives", "Sequential", "mixed_log_q", "training_windows"]

_KIND = "sequential"
_CHUNK = 1024


class _SasRec(nn.Module):
    def __init__(
        self,
        text_dim: int,
        dim: int,
        id_mask: NDArray[np.bool_],
        *,
        max_length: int,
        layers: int,
        heads: int,
        dropout: float,
        id_dropout: float,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.items = ItemInput(text_dim, dim, id_mask, id_dropout=id_dropout)
        self.positions = nn.Embedding(max_length, dim)
        block = nn.TransformerEncoderLayer(
            dim, heads, dim_feedforward=dim * 2, dropout=dropout, batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def item_table(self, text: torch.Tensor) -> torch.Tensor:
        """Every item's vector (n_items, dim)."""
        table: torch.Tensor = self.items(text, torch.arange(text.shape[0]))
        return table

    def states(
        self, table: torch.Tensor, inputs: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """Hidden states (B, L, dim) of left-aligned inputs (B, L) of the given lengths."""
        length = inputs.shape[1]
        positions = torch.arange(length)
        valid = positions.unsqueeze(0) < lengths.unsqueeze(1)
        x = table[inputs] * math.sqrt(self.dim) + self.positions(positions).unsqueeze(0)
        x = self.dropout(x) * valid.unsqueeze(-1).to(x.dtype)
        causal = torch.triu(torch.ones(length, length, dtype=torch.bool), diagonal=1)
        out: torch.Tensor = self.blocks(x, mask=causal, src_key_padding_mask=~valid)
        normed: torch.Tensor = self.norm(out)
        return normed


class Negatives(StrEnum):
    """What the next item's softmax runs over while training (see the module docstring)."""

    FULL = "full"
    IN_BATCH = "in-batch"
    MIXED = "mixed"


def mixed_log_q(
    frequency: torch.Tensor, items: torch.Tensor, positives: int, uniform: int, n_items: int
) -> torch.Tensor:
    """log of how many times each of `items` is expected among a batch's sampled
    candidates: `positives` targets drawn by popularity (`frequency`, summing to 1) plus
    `uniform` items drawn uniformly from `n_items`. Subtracting it from the logits (logQ)
    makes the sampled softmax an estimate of the full one."""
    expected = positives * frequency[items] + uniform / n_items
    return torch.log(expected)


def training_windows(sequences: Sequence[History], length: int) -> list[History]:
    """Every next-item pair of `sequences` exactly once, in windows of at most
    ``length + 1`` items (the last window ends at the sequence's end; consecutive windows
    share one item), so a short `length` drops no training data."""
    out: list[History] = []
    for sequence in sequences:
        end = sequence.size
        while end >= 2:
            start = max(0, end - length - 1)
            out.append(sequence[start:end])
            end = start + 1
    return out


class Sequential(Generator):
    """The sequential generator (see the module docstring)."""

    source: ClassVar[Source] = Source.SEQUENTIAL

    def __init__(
        self,
        *,
        dim: int = 64,
        max_length: int = 10,
        layers: int = 2,
        heads: int = 2,
        dropout: float = 0.3,
        id_dropout: float = 0.1,
        epochs: int = 30,
        batch_size: int = 512,
        learning_rate: float = 1e-3,
        patience: int = 3,
        negatives: Negatives | str = Negatives.MIXED,
        uniform_negatives: int = 512,
        schedule: LRSchedule | str = LRSchedule.PLATEAU,
        warmup_epochs: float = 0.5,
        valid_metric: ValidationMetric | str = ValidationMetric.NDCG,
        seed: int = 0,
    ) -> None:
        if negatives not in tuple(Negatives):
            raise ValueError(
                f"negatives must be one of {[n.value for n in Negatives]}, got {negatives!r}"
            )
        if min(dim, max_length, layers, heads) < 1 or batch_size < 1 or uniform_negatives < 0:
            raise ValueError(
                "dim, max_length, layers, heads, batch_size >= 1, uniform_negatives >= 0"
            )
        if dim % heads:
            raise ValueError(f"dim {dim} is not a multiple of heads {heads}")
        if not (0.0 <= id_dropout < 1.0 and 0.0 <= dropout < 1.0):
            raise ValueError("dropouts must be in [0, 1)")
        self.training = TrainingConfig(
            max_epochs=epochs,
            patience=patience,
            learning_rate=learning_rate,
            schedule=LRSchedule(schedule),
            warmup_epochs=warmup_epochs,
            metric=ValidationMetric(valid_metric),
        )
        self.dim = dim
        self.max_length = max_length
        self.layers = layers
        self.heads = heads
        self.dropout = dropout
        self.id_dropout = id_dropout
        self.batch_size = batch_size
        self.negatives = Negatives(negatives)
        self.uniform_negatives = uniform_negatives
        self.seed = seed
        self.training_log: TrainingLog | None = None
        self._net: _SasRec | None = None

    @property
    def epochs(self) -> int:
        return self.training.max_epochs

    @property
    def validation_curve(self) -> list[float]:
        """The validation metric of each epoch run (empty without a validation set)."""
        return list(self.training_log.values) if self.training_log is not None else []

    def _config(self) -> dict[str, float | int | str]:
        return {
            "dim": self.dim,
            "max_length": self.max_length,
            "layers": self.layers,
            "heads": self.heads,
            "dropout": self.dropout,
            "id_dropout": self.id_dropout,
            "batch_size": self.batch_size,
            "negatives": self.negatives.value,
            "uniform_negatives": self.uniform_negatives,
            "seed": self.seed,
            **self.training.as_dict(),
        }

    @property
    def net(self) -> _SasRec:
        if self._net is None:
            raise NotFittedError("Sequential is not fitted: call fit first")
        return self._net

    def _new_net(self, text_dim: int, id_mask: NDArray[np.bool_]) -> _SasRec:
        return _SasRec(
            text_dim,
            self.dim,
            id_mask,
            max_length=self.max_length,
            layers=self.layers,
            heads=self.heads,
            dropout=self.dropout,
            id_dropout=self.id_dropout,
        )

    def steps_per_epoch(self, data: TrainingData) -> int:
        windows = len(training_windows(data.sequences, self.max_length))
        return -(-windows // self.batch_size)

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
        usable = training_windows(data.sequences, self.max_length)
        if not usable:
            raise ValueError("sequential training needs a sequence of at least two items")
        pad = 0
        inputs = padded([s[:-1] for s in usable], self.max_length, pad)
        targets = padded([s[1:] for s in usable], self.max_length, pad)
        lengths = np.array([s.size - 1 for s in usable], dtype=np.int64)
        text = torch.from_numpy(data.text_vectors)
        n_items = text.shape[0]
        frequency = torch.from_numpy(data.counts / data.counts.sum()).to(torch.float32)
        sampler = torch.Generator().manual_seed(self.seed)
        positions = torch.arange(self.max_length)

        def step_loss(batch: NDArray[np.int64]) -> torch.Tensor:
            size = torch.from_numpy(lengths[batch])
            valid = positions.unsqueeze(0) < size.unsqueeze(1)
            wanted = torch.from_numpy(targets[batch])[valid]
            seen = torch.from_numpy(inputs[batch])
            if self.negatives is Negatives.FULL:
                table = net.item_table(text)
                states = net.states(table, seen, size)
                return F.cross_entropy(states[valid] @ table.T, wanted)
            uniform = self.uniform_negatives if self.negatives is Negatives.MIXED else 0
            drawn = torch.randint(n_items, (uniform,), generator=sampler)
            candidates, inverse = torch.unique(torch.cat([wanted, drawn]), return_inverse=True)
            label = inverse[: wanted.numel()]
            # one item table for inputs and candidates: each distinct item computed once
            items, where = torch.unique(
                torch.cat([seen.reshape(-1), candidates]), return_inverse=True
            )
            table = net.items(text[items], items)
            local = where[: seen.numel()].reshape(seen.shape)
            states = net.states(table, local, size)[valid]
            logits = states @ table[where[seen.numel() :]].T
            correction = mixed_log_q(frequency, candidates, wanted.numel(), uniform, n_items)
            return F.cross_entropy(logits - correction, label)

        evaluate = None
        if validation is not None:
            checked = validation

            def evaluate() -> float:
                scores = self.score(checked.histories, data.text_vectors)
                return validation_score(scores, checked, self.training.metric)

        self.training_log = train_epochs(
            net,
            self.training,
            n_rows=len(usable),
            batch_size=self.batch_size,
            rng=rng,
            step_loss=step_loss,
            evaluate=evaluate,
            on_progress=on_progress,
            on_epoch=on_epoch,
            k=validation.k if validation is not None else 10,
        )
        return self

    @torch.no_grad()
    def score(
        self, histories: Sequence[History], text_vectors: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        net = self.net
        net.eval()
        checked = check_histories(histories, text_vectors.shape[0])
        table = net.item_table(torch.from_numpy(np.ascontiguousarray(text_vectors)))
        lengths = np.array([min(h.size, self.max_length) for h in checked], dtype=np.int64)
        matrix = padded(checked, self.max_length, 0)

        def chunk(part: slice) -> NDArray[np.float32]:
            size = np.maximum(lengths[part], 1)
            states = net.states(table, torch.from_numpy(matrix[part]), torch.from_numpy(size))
            last = states[torch.arange(size.size), torch.from_numpy(size - 1)]
            scores = (last @ table.T).numpy()
            scores[lengths[part] == 0] = 0.0
            return scores

        return in_chunks(len(checked), _CHUNK, chunk, table.shape[0])

    def save(self, folder: str | Path) -> None:
        net = self.net
        write_network(folder, _KIND, self._config(), net, net.items, self.training_log)

    @classmethod
    def load(cls, folder: str | Path) -> Self:
        config, arrays = read_model(folder, _KIND)
        training = TrainingConfig.from_dict(config)
        model = cls(
            dim=int(config["dim"]),
            max_length=int(config["max_length"]),
            layers=int(config["layers"]),
            heads=int(config["heads"]),
            dropout=float(config["dropout"]),
            id_dropout=float(config["id_dropout"]),
            epochs=training.max_epochs,
            batch_size=int(config["batch_size"]),
            learning_rate=training.learning_rate,
            patience=training.patience,
            negatives=Negatives(str(config["negatives"])),
            uniform_negatives=int(config.get("uniform_negatives", 0)),
            schedule=training.schedule,
            warmup_epochs=training.warmup_epochs,
            valid_metric=training.metric,
            seed=int(config["seed"]),
        )
        net, model.training_log = read_network(config, arrays, model._new_net)
        model._net = net
        return model
