"""A SASRec-like sequential model whose item inputs include the text embedding.

The user's last `max_length` items (`ItemInput`: text through a linear map plus an ID
embedding for items seen in training), scaled by sqrt(dim), plus learned position
embeddings, go through `layers` causal pre-norm transformer blocks; the state after the
latest item, dotted with every item's `ItemInput` vector (shared input and output item
vectors, as in SASRec), scores the next item. An item never seen in training is its
text alone on both sides, so it can be recommended and recommended from.

Training: each training sequence's last ``max_length + 1`` items; every position predicts
the item after it, by softmax cross-entropy over the full catalog (RecBole's
``loss_type="CE"``) when `negatives` is ``"full"``; with ``"in-batch"`` (the default,
several times faster on a CPU) over the distinct target items of the batch, with the
logQ correction ``logit - log q(item)`` for their popularity-skewed sampling. With a `ValidationSet`, the weights of the
epoch with the best validation Recall@k are kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar, Literal, Self

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

from paretorec.retrieve.recommend._files import read_model, write_model
from paretorec.retrieve.recommend._neural import (
    EarlyStopping,
    ItemInput,
    ValidationSet,
    batches,
    in_chunks,
    padded,
    recall_at,
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

__all__ = ["Sequential"]

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


class Sequential(Generator):
    """The sequential generator (see the module docstring)."""

    source: ClassVar[Source] = Source.SEQUENTIAL

    def __init__(
        self,
        *,
        dim: int = 64,
        max_length: int = 20,
        layers: int = 2,
        heads: int = 2,
        dropout: float = 0.3,
        id_dropout: float = 0.1,
        epochs: int = 20,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        patience: int = 2,
        negatives: Literal["in-batch", "full"] = "in-batch",
        seed: int = 0,
    ) -> None:
        if negatives not in ("in-batch", "full"):
            raise ValueError(f"negatives must be 'in-batch' or 'full', got {negatives!r}")
        if min(dim, max_length, layers, heads, epochs, patience) < 1 or batch_size < 1:
            raise ValueError("dim, max_length, layers, heads, epochs, patience, batch_size >= 1")
        if dim % heads:
            raise ValueError(f"dim {dim} is not a multiple of heads {heads}")
        if not (0.0 <= id_dropout < 1.0 and 0.0 <= dropout < 1.0) or learning_rate <= 0:
            raise ValueError("dropouts must be in [0, 1), learning_rate > 0")
        self.dim = dim
        self.max_length = max_length
        self.layers = layers
        self.heads = heads
        self.dropout = dropout
        self.id_dropout = id_dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.negatives = negatives
        self.seed = seed
        self.validation_recall: list[float] = []
        self._net: _SasRec | None = None

    def _config(self) -> dict[str, float | int | str]:
        return {
            "dim": self.dim,
            "max_length": self.max_length,
            "layers": self.layers,
            "heads": self.heads,
            "dropout": self.dropout,
            "id_dropout": self.id_dropout,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "patience": self.patience,
            "negatives": self.negatives,
            "seed": self.seed,
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
        users = sum(1 for s in data.sequences if s.size >= 2)
        return -(-users // self.batch_size)

    def fit(
        self,
        data: TrainingData,
        *,
        on_progress: Progress = None,
        validation: ValidationSet | None = None,
        on_epoch: Callable[[int, float], None] | None = None,
    ) -> Self:
        """Train; `on_progress` counts optimizer steps (`steps_per_epoch(data)` an epoch),
        `on_epoch(epoch, recall)` gets each epoch's validation recall (an exception it
        raises, such as a tuner's pruning signal, ends training)."""
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        net = self._new_net(data.text_vectors.shape[1], data.counts > 0)
        self._net = net
        usable = [s[-(self.max_length + 1) :] for s in data.sequences if s.size >= 2]
        if not usable:
            raise ValueError("sequential training needs a sequence of at least two items")
        pad = 0
        inputs = padded([s[:-1] for s in usable], self.max_length, pad)
        targets = padded([s[1:] for s in usable], self.max_length, pad)
        lengths = np.array([s.size - 1 for s in usable], dtype=np.int64)
        text = torch.from_numpy(data.text_vectors)
        log_q = torch.from_numpy(np.log(np.maximum(data.counts, 1.0) / data.counts.sum()))
        optimizer = torch.optim.Adam(net.parameters(), lr=self.learning_rate)
        stopping = EarlyStopping(self.patience)
        for epoch in range(self.epochs):
            net.train()
            for batch in batches(len(usable), self.batch_size, rng):
                size = torch.from_numpy(lengths[batch])
                valid = torch.arange(self.max_length).unsqueeze(0) < size.unsqueeze(1)
                wanted = torch.from_numpy(targets[batch])[valid]
                if self.negatives == "full":
                    table = net.item_table(text)
                    states = net.states(table, torch.from_numpy(inputs[batch]), size)
                    logits = states[valid] @ table.T
                    loss = F.cross_entropy(logits, wanted)
                else:
                    seen = torch.from_numpy(inputs[batch])
                    items, inverse = torch.unique(
                        torch.cat([seen.reshape(-1), wanted]), return_inverse=True
                    )
                    table = net.items(text[items], items)
                    local = inverse[: seen.numel()].reshape(seen.shape)
                    states = net.states(table, local, size)[valid]
                    candidates, label = torch.unique(wanted, return_inverse=True)
                    rows = torch.searchsorted(items, candidates)
                    logits = states @ table[rows].T - log_q[candidates].to(states.dtype)
                    loss = F.cross_entropy(logits, label)
                optimizer.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                if on_progress is not None:
                    on_progress(1)
            if validation is not None:
                recall = recall_at(self.score(validation.histories, data.text_vectors), validation)
                if on_epoch is not None:
                    on_epoch(epoch, recall)
                if stopping.update(epoch, recall, net):
                    break
        if validation is not None:
            stopping.restore(net)
            self.validation_recall = stopping.history
        net.eval()
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
        arrays = {name: t.detach().numpy() for name, t in net.state_dict().items()}
        config = {
            **self._config(),
            "text_dim": int(net.items.text.in_features),
            "validation_recall": self.validation_recall,
        }
        write_model(folder, _KIND, config, arrays)

    @classmethod
    def load(cls, folder: str | Path) -> Self:
        config, arrays = read_model(folder, _KIND)
        model = cls(
            dim=int(config["dim"]),
            max_length=int(config["max_length"]),
            layers=int(config["layers"]),
            heads=int(config["heads"]),
            dropout=float(config["dropout"]),
            id_dropout=float(config["id_dropout"]),
            epochs=int(config["epochs"]),
            batch_size=int(config["batch_size"]),
            learning_rate=float(config["learning_rate"]),
            patience=int(config["patience"]),
            negatives="full" if config["negatives"] == "full" else "in-batch",
            seed=int(config["seed"]),
        )
        model.validation_recall = [float(v) for v in config.get("validation_recall", [])]
        net = model._new_net(int(config["text_dim"]), arrays["items.id_mask"] > 0)
        net.load_state_dict({name: torch.from_numpy(a.copy()) for name, a in arrays.items()})
        net.eval()
        model._net = net
        return model
