"""What the two neural generators share: the item input (text + ID), validation-based
early stopping, and reproducible batching."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from paretorec.retrieve.recommend.base import History

__all__ = ["EarlyStopping", "ItemInput", "ValidationSet", "recall_at"]


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


def recall_at(scores: NDArray[np.float32], validation: ValidationSet) -> float:
    """Recall@k (= hit rate: one target each) of `scores` (one row per history), the
    history's own items excluded."""
    masked = scores.copy()
    for row, history in enumerate(validation.histories):
        masked[row, history] = -np.inf
    target = masked[np.arange(masked.shape[0]), validation.targets]
    better = (masked > target[:, None]).sum(axis=1)
    return float((better < validation.k).mean())


class EarlyStopping:
    """Keeps the weights of the best epoch by validation recall; stops after `patience`
    epochs without improvement."""

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
