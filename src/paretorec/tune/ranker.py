"""The ranker's search space: architecture (Shared-Bottom, MMoE, PLE, ESMM), layer sizes,
experts, dropout, loss weighting, learning rate and batch size.

One objective per task, each the task's AUC on the valid rows (maximized; a task whose
valid rows hold one outcome only is left out, it has no AUC). A trial trains on the train
rows for at most `max_epochs` epochs, early-stopped on the valid loss, whose per-epoch
value (negated: higher is better) feeds pruning; the test figures are each task's AUC on
the test rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna

from paretorec.rank import (
    Ranker,
    RankerConfig,
    RankerFeatures,
    TrainConfig,
    evaluate_ranker,
    train_ranker,
)
from paretorec.rank.config import Architecture, Weighting
from paretorec.rank.train import EpochRecord
from paretorec.tune.options import TunableStage
from paretorec.tune.study import EpochHook
from paretorec.types import Split

__all__ = ["RankerTuning"]

DEFAULT_EPOCHS = 5  # `paretorec train ranker`'s
HIDDEN = {"64": (64,), "128,64": (128, 64), "256,128": (256, 128)}
TOWER = {"16": (16,), "32": (32,), "64": (64,)}


def _sizes(table: Mapping[str, tuple[int, ...]], key: object) -> tuple[int, ...]:
    return table[str(key)]


@dataclass(frozen=True, eq=False)
class RankerTuning:
    """Tunes the multi-task ranker on logged `features` that carry a train/valid/test split."""

    features: RankerFeatures
    max_epochs: int = DEFAULT_EPOCHS
    seed: int = 0
    _tasks: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.max_epochs < 1:
            raise ValueError("max_epochs must be >= 1")
        split = self.features.split
        if split is None:
            raise ValueError("the ranker features have no split: tuning needs train, valid, test")
        for part in (Split.TRAIN, Split.VALID, Split.TEST):
            if not (split == part.value).any():
                raise ValueError(f"the events have no {part.value} rows: tuning needs all three")
        valid = split == Split.VALID.value
        tasks = tuple(
            t
            for t in self.features.tasks
            if 0 < int(self.features.labels[t][valid].sum()) < int(valid.sum())
        )
        if not tasks:
            raise ValueError("no task has both outcomes in the valid rows: no AUC to tune on")
        object.__setattr__(self, "_tasks", tasks)

    @property
    def stage(self) -> TunableStage:
        return TunableStage.RANKER

    @property
    def objectives(self) -> tuple[str, ...]:
        return tuple(f"{t}.auc" for t in self._tasks)

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        architecture = trial.suggest_categorical("architecture", [a.value for a in Architecture])
        trial.suggest_categorical("hidden", list(HIDDEN))
        trial.suggest_categorical("tower", list(TOWER))
        trial.suggest_float("dropout", 0.0, 0.3)
        if architecture == Architecture.MMOE.value:
            trial.suggest_int("n_experts", 2, 8)
        if architecture == Architecture.PLE.value:
            trial.suggest_int("n_shared_experts", 1, 4)
        trial.suggest_categorical("weighting", [w.value for w in Weighting])
        trial.suggest_float("learning_rate", 3e-4, 1e-2, log=True)
        trial.suggest_categorical("batch_size", [256, 512, 1024, 2048])
        return dict(trial.params)

    def default_params(self) -> dict[str, Any]:
        return {
            "architecture": Architecture.MMOE.value,
            "hidden": "128,64",
            "tower": "32",
            "dropout": 0.0,
            "n_experts": 4,
            "weighting": Weighting.FIXED.value,
            "learning_rate": 2e-3,
            "batch_size": 1024,
        }

    @staticmethod
    def configs(
        params: Mapping[str, Any], *, epochs: int, seed: int
    ) -> tuple[RankerConfig, TrainConfig]:
        """The ranker's and its training's configuration of a trial's `params`."""
        default = RankerConfig()
        config = RankerConfig(
            architecture=Architecture(str(params["architecture"])),
            hidden=_sizes(HIDDEN, params["hidden"]),
            tower=_sizes(TOWER, params["tower"]),
            dropout=float(params["dropout"]),
            n_experts=int(params.get("n_experts", default.n_experts)),
            n_shared_experts=int(params.get("n_shared_experts", default.n_shared_experts)),
        )
        train = TrainConfig(
            weighting=Weighting(str(params["weighting"])),
            learning_rate=float(params["learning_rate"]),
            batch_size=int(params["batch_size"]),
            epochs=epochs,
            seed=seed,
        )
        return config, train

    def fit(
        self, params: Mapping[str, Any], *, on_epoch: EpochHook | None = None, final: bool = False
    ) -> Ranker:
        config, train = self.configs(params, epochs=self.max_epochs, seed=self.seed)
        hook = None
        if on_epoch is not None:

            def hook(record: EpochRecord) -> None:
                if record.valid_loss is not None:
                    on_epoch("valid-loss", record.epoch - 1, -record.valid_loss)

        return train_ranker(self.features, config=config, train=train, on_epoch=hook)

    def _aucs(self, model: Ranker, split: Split) -> dict[str, float]:
        metrics = evaluate_ranker(model, self.features, split=split)
        return {f"{t}.auc": float(m.auc) for t, m in metrics.tasks.items() if np.isfinite(m.auc)}

    def validate(self, model: Ranker) -> tuple[float, ...]:
        aucs = self._aucs(model, Split.VALID)
        return tuple(aucs[name] for name in self.objectives)

    def test(self, model: Ranker) -> dict[str, float]:
        return self._aucs(model, Split.TEST)
