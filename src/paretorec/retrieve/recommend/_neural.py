"""What the two neural generators share: the item input (text + ID), the training loop
(validation-based early stopping that keeps the best epoch's weights, a learning-rate
warm-up and schedule), its typed config and log, and reproducible batching."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, LRScheduler, ReduceLROnPlateau

from paretorec.retrieve.recommend._files import write_model
from paretorec.retrieve.recommend.base import History

__all__ = [
    "EarlyStopping",
    "ItemInput",
    "LRSchedule",
    "LearningRate",
    "TrainingConfig",
    "TrainingLog",
    "ValidationMetric",
    "ValidationSet",
    "ndcg_at",
    "recall_at",
    "train_epochs",
    "validation_score",
]


class ItemInput(nn.Module):
    """An item as a `dim`-vector: a linear map of its text embedding plus, for items seen
    in training (`id_mask` 1), a learned ID embedding. Items never seen in training and
    items added later (index >= n_ids) are their text alone, so they can be scored and
    used as input from day one. `id_dropout` drops whole items' ID parts while training,
    so the text path learns to carry the item on its own."""

    def __init__(
        self, text_dim: int, dim: int, id_mask: NDArray[np.bool_], *, id_dropout: float
    ) -> None:
        super().__init__()
        self.text = nn.Linear(text_dim, dim)
        self.ids = nn.Embedding(int(id_mask.size), dim)
        nn.init.normal_(self.ids.weight, std=0.02)
        self.id_dropout = id_dropout
        self.register_buffer("id_mask", torch.from_numpy(id_mask.astype(np.float32)))

    def forward(self, text: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        """Vectors of the items `indices` (any shape), whose text rows are `text`
        (``indices.shape + (text_dim,)``)."""
        out: torch.Tensor = self.text(text)
        mask = cast(torch.Tensor, self.id_mask)
        n_ids = mask.shape[0]
        has_id = indices < n_ids
        safe = torch.where(has_id, indices, torch.zeros_like(indices))
        gate = mask[safe] * has_id.to(out.dtype)
        if self.training and self.id_dropout > 0:
            gate = gate * (torch.rand_like(gate) >= self.id_dropout).to(out.dtype)
        ids: torch.Tensor = self.ids(safe)
        return out + ids * gate.unsqueeze(-1)


def gathered(items: ItemInput, text: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """`items` of `indices` (any shape), each distinct item computed once."""
    unique, inverse = torch.unique(indices, return_inverse=True)
    vectors: torch.Tensor = items(text[unique], unique)
    return vectors[inverse]


@dataclass(frozen=True, eq=False)
class ValidationSet:
    """Held-out next items for early stopping: each history and the item that followed."""

    histories: tuple[History, ...]
    targets: NDArray[np.int64]
    k: int = 10

    def __post_init__(self) -> None:
        if len(self.histories) != self.targets.size or not self.histories:
            raise ValueError("a validation set needs one target per history, and some")


class ValidationMetric(StrEnum):
    """What early stopping watches on the validation set (at its `k`)."""

    NDCG = "ndcg"
    RECALL = "recall"


class LRSchedule(StrEnum):
    """The learning rate after the linear warm-up: held (constant), halved when the
    validation metric stops improving (plateau, torch's ReduceLROnPlateau), or cosine
    decay to zero at the epoch cap (cosine, torch's CosineAnnealingLR)."""

    CONSTANT = "constant"
    PLATEAU = "plateau"
    COSINE = "cosine"


@dataclass(frozen=True)
class TrainingConfig:
    """How a neural generator trains: `max_epochs` is the cap; with a validation set it
    stops after `patience` epochs without a better `metric` and keeps the best epoch's
    weights. The learning rate warms up linearly over `warmup_epochs` (a fraction of an
    epoch is fine) from a tenth of `learning_rate`, then follows `schedule`; `plateau`
    multiplies it by `plateau_factor` after each epoch that does not improve (without a
    validation set it stays constant, and training runs to the cap)."""

    max_epochs: int = 30
    patience: int = 3
    learning_rate: float = 1e-3
    schedule: LRSchedule = LRSchedule.PLATEAU
    warmup_epochs: float = 0.5
    plateau_factor: float = 0.5
    metric: ValidationMetric = ValidationMetric.NDCG

    def __post_init__(self) -> None:
        if self.max_epochs < 1 or self.patience < 1:
            raise ValueError("max_epochs and patience must be >= 1")
        if self.learning_rate <= 0 or self.warmup_epochs < 0:
            raise ValueError("learning_rate must be > 0 and warmup_epochs >= 0")
        if not 0.0 < self.plateau_factor < 1.0:
            raise ValueError(f"plateau_factor must be in (0, 1), got {self.plateau_factor}")
        object.__setattr__(self, "schedule", LRSchedule(self.schedule))
        object.__setattr__(self, "metric", ValidationMetric(self.metric))

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "max_epochs": self.max_epochs,
            "patience": self.patience,
            "learning_rate": self.learning_rate,
            "schedule": self.schedule.value,
            "warmup_epochs": self.warmup_epochs,
            "plateau_factor": self.plateau_factor,
            "metric": self.metric.value,
        }

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> TrainingConfig:
        """From `as_dict` output, or the older flat model config (epochs, patience,
        learning_rate; constant learning rate, recall)."""
        if "max_epochs" not in config:
            return cls(
                max_epochs=int(config["epochs"]),
                patience=int(config["patience"]),
                learning_rate=float(config["learning_rate"]),
                schedule=LRSchedule.CONSTANT,
                warmup_epochs=0.0,
                metric=ValidationMetric.RECALL,
            )
        return cls(
            max_epochs=int(config["max_epochs"]),
            patience=int(config["patience"]),
            learning_rate=float(config["learning_rate"]),
            schedule=LRSchedule(str(config["schedule"])),
            warmup_epochs=float(config["warmup_epochs"]),
            plateau_factor=float(config["plateau_factor"]),
            metric=ValidationMetric(str(config["metric"])),
        )


def ranks_of_targets(scores: NDArray[np.float32], validation: ValidationSet) -> NDArray[np.int64]:
    """0-based rank of each target among the items its history does not hold (items
    scoring strictly higher count; ties count for the target)."""
    masked = scores.copy()
    for row, history in enumerate(validation.histories):
        masked[row, history] = -np.inf
    target = masked[np.arange(masked.shape[0]), validation.targets]
    return np.asarray((masked > target[:, None]).sum(axis=1), dtype=np.int64)


def recall_at(scores: NDArray[np.float32], validation: ValidationSet) -> float:
    """Recall@k (= hit rate: one target each) of `scores` (one row per history), the
    history's own items excluded."""
    return float((ranks_of_targets(scores, validation) < validation.k).mean())


def ndcg_at(scores: NDArray[np.float32], validation: ValidationSet) -> float:
    """NDCG@k with one relevant item per history: 1 / log2(rank + 2) inside the top k."""
    ranks = ranks_of_targets(scores, validation)
    gains = np.where(ranks < validation.k, 1.0 / np.log2(ranks + 2.0), 0.0)
    return float(gains.mean())


def validation_score(
    scores: NDArray[np.float32], validation: ValidationSet, metric: ValidationMetric
) -> float:
    if metric is ValidationMetric.NDCG:
        return ndcg_at(scores, validation)
    return recall_at(scores, validation)


class EarlyStopping:
    """Keeps the weights of the best epoch by the validation metric; stops after
    `patience` epochs without improvement."""

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best = -np.inf
        self.best_epoch = -1
        self.history: list[float] = []
        self._state: dict[str, torch.Tensor] | None = None

    def update(self, epoch: int, value: float, module: nn.Module) -> bool:
        """Record an epoch; True when training should stop."""
        self.history.append(value)
        if value > self.best:
            self.best, self.best_epoch = value, epoch
            self._state = copy.deepcopy(module.state_dict())
        return epoch - self.best_epoch >= self.patience

    def restore(self, module: nn.Module) -> None:
        if self._state is not None:
            module.load_state_dict(self._state)


class LearningRate:
    """Warm-up then `config.schedule`, built from torch's own schedulers: `after_step`
    after every optimizer step, `after_epoch(value)` after each validated epoch."""

    def __init__(
        self, optimizer: torch.optim.Optimizer, config: TrainingConfig, steps_per_epoch: int
    ) -> None:
        self.optimizer = optimizer
        self.warmup = round(config.warmup_epochs * steps_per_epoch)
        total = config.max_epochs * steps_per_epoch
        self._warm: LRScheduler | None = None
        if self.warmup > 0:
            self._warm = LinearLR(
                optimizer, start_factor=0.1, end_factor=1.0, total_iters=self.warmup
            )
        self._cosine: LRScheduler | None = None
        if config.schedule is LRSchedule.COSINE:
            self._cosine = CosineAnnealingLR(optimizer, T_max=max(1, total - self.warmup))
        self._plateau: ReduceLROnPlateau | None = None
        if config.schedule is LRSchedule.PLATEAU:
            # patience 0: the first epoch without a better metric lowers the rate, so
            # the early stopper's `patience` epochs see a lower rate before giving up
            self._plateau = ReduceLROnPlateau(
                optimizer, mode="max", factor=config.plateau_factor, patience=0
            )
        self.steps = 0

    @property
    def value(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def after_step(self) -> None:
        self.steps += 1
        if self._warm is not None and self.steps <= self.warmup:
            self._warm.step()
        elif self._cosine is not None:
            self._cosine.step()

    def after_epoch(self, value: float) -> None:
        if self._plateau is not None and self.steps >= self.warmup:
            self._plateau.step(value)


@dataclass
class TrainingLog:
    """What a fit did: the validation metric (at `k`), learning rate, mean training loss
    and wall seconds of each epoch run, the best epoch (0-based; its weights are kept),
    and why training ended."""

    metric: str
    k: int
    max_epochs: int
    values: list[float] = field(default_factory=list)
    learning_rates: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False

    @property
    def epochs_run(self) -> int:
        return len(self.losses)

    def summary(self) -> str:
        """One line: epochs run, why it ended, the best epoch and the curve."""
        if not self.values:
            return f"{self.epochs_run} epoch(s), no validation set (the epoch cap)"
        why = "early stop" if self.stopped_early else f"the cap of {self.max_epochs}"
        curve = " ".join(f"{v:.4f}" for v in self.values)
        return (
            f"{self.epochs_run} epoch(s) ({why}), best epoch {self.best_epoch + 1}; "
            f"valid {self.metric}@{self.k} by epoch: {curve}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "k": self.k,
            "max_epochs": self.max_epochs,
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "values": self.values,
            "learning_rates": self.learning_rates,
            "losses": self.losses,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, saved: Mapping[str, Any]) -> TrainingLog:
        return cls(
            metric=str(saved["metric"]),
            k=int(saved["k"]),
            max_epochs=int(saved["max_epochs"]),
            values=[float(v) for v in saved["values"]],
            learning_rates=[float(v) for v in saved["learning_rates"]],
            losses=[float(v) for v in saved["losses"]],
            seconds=[float(v) for v in saved["seconds"]],
            best_epoch=int(saved["best_epoch"]),
            stopped_early=bool(saved["stopped_early"]),
        )


def train_epochs(
    module: nn.Module,
    config: TrainingConfig,
    *,
    n_rows: int,
    batch_size: int,
    rng: np.random.Generator,
    step_loss: Callable[[NDArray[np.int64]], torch.Tensor | None],
    evaluate: Callable[[], float] | None,
    on_progress: Callable[[int], None] | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
    k: int = 10,
) -> TrainingLog:
    """The loop both neural generators share: Adam over `module`'s parameters, batches
    of `n_rows` shuffled by `rng`, `step_loss(batch)` the batch's loss (None: skip it).
    With `evaluate` (the validation metric of the current weights) it stops early and
    keeps the best epoch's weights; `on_epoch(epoch, value)` hears each value (an
    exception it raises, such as a tuner's pruning signal, ends training)."""
    optimizer = torch.optim.Adam(module.parameters(), lr=config.learning_rate)
    steps = -(-n_rows // batch_size)
    rate = LearningRate(optimizer, config, steps)
    stopping = EarlyStopping(config.patience)
    log = TrainingLog(metric=config.metric.value, k=k, max_epochs=config.max_epochs)
    for epoch in range(config.max_epochs):
        started = time.perf_counter()
        module.train()
        losses: list[float] = []
        log.learning_rates.append(rate.value)
        for batch in batches(n_rows, batch_size, rng):
            loss = step_loss(batch)
            if loss is None:
                continue
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            rate.after_step()
            losses.append(float(loss.detach()))
            if on_progress is not None:
                on_progress(1)
        log.losses.append(float(np.mean(losses)) if losses else float("nan"))
        if evaluate is not None:
            module.eval()
            value = evaluate()
            log.values.append(value)
            if on_epoch is not None:
                on_epoch(epoch, value)
            done = stopping.update(epoch, value, module)
            rate.after_epoch(value)
            log.seconds.append(time.perf_counter() - started)
            if done:
                log.stopped_early = epoch + 1 < config.max_epochs
                break
        else:
            log.seconds.append(time.perf_counter() - started)
    if evaluate is not None:
        stopping.restore(module)
        log.best_epoch = stopping.best_epoch
    else:
        log.best_epoch = log.epochs_run - 1
    module.eval()
    return log


def batches(n: int, batch_size: int, generator: np.random.Generator) -> list[NDArray[np.int64]]:
    order = generator.permutation(n)
    return [order[start : start + batch_size] for start in range(0, n, batch_size)]


def in_chunks(
    n: int, chunk: int, fn: Callable[[slice], NDArray[np.float32]], width: int
) -> NDArray[np.float32]:
    out = np.empty((n, width), dtype=np.float32)
    for start in range(0, n, chunk):
        part = slice(start, min(n, start + chunk))
        out[part] = fn(part)
    return out


def padded(histories: Sequence[History], length: int, pad: int) -> NDArray[np.int64]:
    """The last `length` items of each history, left-aligned, padded on the right."""
    out = np.full((len(histories), length), pad, dtype=np.int64)
    for row, history in enumerate(histories):
        recent = history[-length:]
        out[row, : recent.size] = recent
    return out


def write_network(
    folder: str | Path,
    kind: str,
    config: Mapping[str, object],
    net: nn.Module,
    items: ItemInput,
    training_log: TrainingLog | None,
) -> None:
    """Save a neural generator: its `config`, the text dimension its `items` input reads,
    its training log and the network's weights (read back with `read_network`)."""
    arrays = {name: t.detach().numpy() for name, t in net.state_dict().items()}
    saved: dict[str, object] = {
        **config,
        "text_dim": int(items.text.in_features),
        "training_log": training_log.as_dict() if training_log else None,
    }
    write_model(folder, kind, saved, arrays)


_Net = TypeVar("_Net", bound=nn.Module)


def read_network(
    config: Mapping[str, Any],
    arrays: Mapping[str, NDArray[Any]],
    new_net: Callable[[int, NDArray[np.bool_]], _Net],
) -> tuple[_Net, TrainingLog | None]:
    """The network `write_network` saved, built by `new_net(text_dim, id_mask)` and set to
    eval mode, and its training log (None when it was saved without one)."""
    log = TrainingLog.from_dict(config["training_log"]) if config.get("training_log") else None
    net = new_net(int(config["text_dim"]), arrays["items.id_mask"] > 0)
    net.load_state_dict({name: torch.from_numpy(a.copy()) for name, a in arrays.items()})
    net.eval()
    return net, log
