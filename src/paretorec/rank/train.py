"""Training a multi-task ranker on logged features.

Adam on the train rows in shuffled mini-batches (seeded), binary cross-entropy per task
on the logits, the task losses combined by the configured `Weighting`; after each
epoch the summed task loss on the valid rows decides early stopping, and the best
epoch's weights are kept. Without valid rows every epoch runs and the last is kept.

Robust training (`TrainConfig`, see `rank.robust`): `label_loss=gce` trains on the
generalized cross-entropy instead (robust to flipped click labels); `adversarial_eps > 0`
adds APR's adversarial term: each task's loss with the id embeddings perturbed by the
gradient step of size eps per embedding vector on the summed task loss (text, position
and dense inputs untouched), times `adversarial_weight`. Early stopping reads the plain log loss on the valid rows either way.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from paretorec.rank.config import Architecture, LabelLoss, RankerConfig, TrainConfig, Weighting
from paretorec.rank.features import RankerFeatures
from paretorec.rank.models import Batch, MultiTaskModel, build_model
from paretorec.rank.ranker import Ranker, to_batch
from paretorec.rank.robust import embedding_perturbation, generalized_cross_entropy
from paretorec.rank.weighting import UncertaintyWeights, fixed_loss, mgda_weights
from paretorec.types import Split

EVAL_BATCH = 8192


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: float  # the combined (weighted) loss, mean over batches
    valid_loss: float | None  # sum of the tasks' mean log losses on the valid rows
    task_weights: dict[str, float]  # mean weight of each task over the epoch
    seconds: float


@dataclass(frozen=True)
class TrainHistory:
    epochs: tuple[EpochRecord, ...]
    best_epoch: int
    seconds: float

    def to_json(self) -> dict[str, object]:
        return {
            "epochs": [asdict(e) for e in self.epochs],
            "best_epoch": self.best_epoch,
            "seconds": self.seconds,
        }


def _tasks(features: RankerFeatures, config: RankerConfig, train: TrainConfig) -> tuple[str, ...]:
    available = features.tasks
    if not available:
        raise ValueError("these features carry no labels: build them from logged events")
    tasks = available if train.tasks is None else tuple(train.tasks)
    unknown = [t for t in tasks if t not in available]
    if unknown:
        raise ValueError(f"unknown task(s) {unknown}: the features have {list(available)}")
    if config.architecture is Architecture.ESMM:
        order = [available.index(t) for t in tasks]
        if order != sorted(order):
            raise ValueError(
                f"ESMM needs its tasks in funnel order {list(available)}, got {list(tasks)}"
            )
    if train.task_weights is not None and len(train.task_weights) != len(tasks):
        raise ValueError(
            f"task_weights has {len(train.task_weights)} value(s) for {len(tasks)} task(s)"
        )
    return tasks


def _losses(
    out: dict[str, Tensor],
    labels: dict[str, Tensor],
    tasks: tuple[str, ...],
    train: TrainConfig | None = None,
) -> dict[str, Tensor]:
    if train is not None and train.label_loss is LabelLoss.GCE:
        return {t: generalized_cross_entropy(out[t], labels[t], train.gce_q) for t in tasks}
    return {t: F.binary_cross_entropy_with_logits(out[t], labels[t]) for t in tasks}


def _train_losses(
    model: MultiTaskModel,
    batch: Batch,
    y: dict[str, Tensor],
    tasks: tuple[str, ...],
    train: TrainConfig,
) -> dict[str, Tensor]:
    """Each task's training loss, with APR's adversarial term when it is on (the step on
    the id embeddings alone, per embedding vector)."""
    if train.adversarial_eps == 0 or train.adversarial_weight == 0:
        return _losses(model(batch), y, tasks, train)
    encoded = model.encoder(batch)
    clean = _losses(model.heads(model.from_encoded(encoded)), y, tasks, train)
    delta = embedding_perturbation(
        torch.stack(list(clean.values())).sum(),
        encoded,
        n_vectors=model.encoder.n_fields,
        dim=model.config.id_dim,
        eps=train.adversarial_eps,
    )
    adversarial = _losses(model.heads(model.from_encoded(encoded + delta)), y, tasks, train)
    return {t: clean[t] + train.adversarial_weight * adversarial[t] for t in tasks}


@torch.no_grad()
def _valid_loss(model: MultiTaskModel, features: RankerFeatures, tasks: tuple[str, ...]) -> float:
    model.eval()
    n = len(features)
    total = dict.fromkeys(tasks, 0.0)
    for start in range(0, n, EVAL_BATCH):
        rows = slice(start, min(start + EVAL_BATCH, n))
        out = model(to_batch(features, rows))
        for t in tasks:
            y = torch.from_numpy(features.labels[t][rows])
            total[t] += float(F.binary_cross_entropy_with_logits(out[t], y, reduction="sum"))
    return sum(v / n for v in total.values())


def train_ranker(
    features: RankerFeatures,
    *,
    config: RankerConfig | None = None,
    train: TrainConfig | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> Ranker:
    """A ranker fitted on the train rows of `features` (all rows where there is no
    split), early-stopped on the valid rows. `on_progress(n)` gets the number of
    training rows done after each batch, `on_epoch(record)` each finished epoch (an
    exception it raises, such as a tuner's pruning signal, ends training)."""
    config = config or RankerConfig()
    train = train or TrainConfig()
    tasks = _tasks(features, config, train)
    if features.split is None:
        fit, valid = features, None
    else:
        fit = features.in_split(Split.TRAIN)
        valid_rows = features.in_split(Split.VALID)
        valid = valid_rows if len(valid_rows) else None
    if len(fit) == 0:
        raise ValueError("no training rows: the split has no 'train' rows")
    for t in tasks:
        positives = int(fit.labels[t].sum())
        if positives == 0 or positives == len(fit):
            raise ValueError(
                f"task '{t}' has {positives} positive(s) in {len(fit)} training rows: "
                "it needs both outcomes to be learned"
            )

    torch.manual_seed(train.seed)
    model = build_model(features.spec, config, tasks)
    dense = torch.from_numpy(fit.dense.astype(np.float64))
    model.encoder.set_dense_statistics(dense.mean(0).float(), dense.std(0, correction=0).float())
    model.set_priors({t: float(fit.labels[t].mean()) for t in tasks})
    uncertainty = UncertaintyWeights(tasks) if train.weighting is Weighting.UNCERTAINTY else None
    params = list(model.parameters()) + (
        [] if uncertainty is None else list(uncertainty.parameters())
    )
    optimizer = torch.optim.Adam(params, lr=train.learning_rate, weight_decay=train.weight_decay)
    fixed = dict(zip(tasks, train.task_weights or (1.0,) * len(tasks), strict=True))
    generator = torch.Generator().manual_seed(train.seed)
    labels = {t: torch.from_numpy(fit.labels[t]) for t in tasks}

    records: list[EpochRecord] = []
    best_loss, best_epoch, best_state = float("inf"), 0, copy.deepcopy(model.state_dict())
    started = time.perf_counter()
    for epoch in range(1, train.epochs + 1):
        epoch_start = time.perf_counter()
        model.train()
        order = torch.randperm(len(fit), generator=generator).numpy()
        loss_sum, n_batches = 0.0, 0
        weight_sum = dict.fromkeys(tasks, 0.0)
        for start in range(0, len(fit), train.batch_size):
            rows = order[start : start + train.batch_size]
            batch = to_batch(fit, rows)
            y = {t: labels[t][rows] for t in tasks}
            optimizer.zero_grad()
            if train.weighting is Weighting.MGDA:
                total, weights = _mgda_step(model, batch, y, tasks, train)
            else:
                losses = _train_losses(model, batch, y, tasks, train)
                if uncertainty is not None:
                    total = uncertainty(losses)
                    weights = uncertainty.weights()
                else:
                    total, weights = fixed_loss(losses, fixed), fixed
                total.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            loss_sum += float(total.detach())
            n_batches += 1
            for t in tasks:
                weight_sum[t] += weights[t]
            if on_progress is not None:
                on_progress(len(rows))
        valid_loss = None if valid is None else _valid_loss(model, valid, tasks)
        records.append(
            EpochRecord(
                epoch=epoch,
                train_loss=loss_sum / max(n_batches, 1),
                valid_loss=valid_loss,
                task_weights={t: w / max(n_batches, 1) for t, w in weight_sum.items()},
                seconds=time.perf_counter() - epoch_start,
            )
        )
        if on_epoch is not None:
            on_epoch(records[-1])
        current = valid_loss if valid_loss is not None else -epoch  # no valid: keep the last
        if current < best_loss:
            best_loss, best_epoch, best_state = current, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= train.patience:
            break
    model.load_state_dict(best_state)
    model.eval()
    history = TrainHistory(tuple(records), best_epoch, time.perf_counter() - started)
    return Ranker(
        model,
        metadata={"train": _train_json(train), "history": history.to_json(), "rows": len(fit)},
    )


def _train_json(train: TrainConfig) -> dict[str, object]:
    raw = asdict(train)
    raw["weighting"] = train.weighting.value
    return raw


def _mgda_step(
    model: MultiTaskModel,
    batch: Batch,
    y: dict[str, Tensor],
    tasks: tuple[str, ...],
    train: TrainConfig | None = None,
) -> tuple[Tensor, dict[str, float]]:
    """One MGDA-UB backward pass: task gradients on the shared representation Z give
    the min-norm weights; the weighted loss flows through the heads into Z, and Z's
    gradient into the shared layers."""
    z = model.represent(batch)
    z_detached = z.detach().requires_grad_(True)
    losses = _losses(model.heads(z_detached), y, tasks, train)
    if len(tasks) > 1:
        grads = {t: torch.autograd.grad(losses[t], z_detached, retain_graph=True)[0] for t in tasks}
        weights = mgda_weights(grads)
    else:
        weights = {tasks[0]: 1.0}
    total = len(tasks) * torch.stack([weights[t] * losses[t] for t in tasks]).sum()
    total.backward()  # type: ignore[no-untyped-call]
    assert z_detached.grad is not None
    z.backward(z_detached.grad)  # type: ignore[no-untyped-call]
    return total, weights
