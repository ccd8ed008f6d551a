"""Per-task metrics of a ranker's probabilities: AUC, log loss, calibration error.

- AUC and log loss are scikit-learn's (`roc_auc_score`, `log_loss`); AUC is NaN when
  the rows hold one outcome only.
- ECE (expected calibration error) uses equal-mass bins: rows sorted by predicted
  probability and cut into `n_bins` groups of (nearly) equal size, then
  sum_b (n_b / n) |mean prediction_b - mean outcome_b|. Equal-mass rather than
  equal-width bins because the deep funnel stages are rare: with equal widths nearly
  every row of a 1% purchase task falls into the first bin.
- Against the simulator's true probabilities (`truth`), the same ECE with the true
  probability in place of the outcome (`true_ece`) and the mean absolute error of the
  prediction (`true_mae`): calibration measured without label noise.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.metrics import log_loss, roc_auc_score

from paretorec.rank.features import RankerFeatures
from paretorec.rank.ranker import Ranker
from paretorec.types import Split

DEFAULT_BINS = 15


def expected_calibration_error(
    predicted: ArrayLike, target: ArrayLike, *, n_bins: int = DEFAULT_BINS
) -> float:
    """ECE over equal-mass bins (module docstring); `target` is 0/1 outcomes or true
    probabilities."""
    p = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    if p.shape != y.shape or p.ndim != 1:
        raise ValueError(
            f"predicted and target must be 1-D of one length, got {p.shape} and {y.shape}"
        )
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    if p.size == 0:
        raise ValueError("no rows to compute a calibration error on")
    if np.any((p < 0) | (p > 1)) or np.any((y < 0) | (y > 1)):
        raise ValueError("predicted and target must lie in [0, 1]")
    order = np.argsort(p, kind="stable")
    total = 0.0
    for rows in np.array_split(order, min(n_bins, p.size)):
        total += rows.size * abs(p[rows].mean() - y[rows].mean())
    return total / p.size


@dataclass(frozen=True)
class TaskMetrics:
    """One task's figures on the evaluated rows."""

    auc: float
    logloss: float
    ece: float
    positives: int
    rows: int
    mean_predicted: float
    true_ece: float | None = None
    true_mae: float | None = None

    def as_dict(self) -> dict[str, float]:
        return {f.name: float(v) for f in fields(self) if (v := getattr(self, f.name)) is not None}


def task_metrics(
    predicted: ArrayLike,
    labels: ArrayLike,
    *,
    truth: ArrayLike | None = None,
    n_bins: int = DEFAULT_BINS,
) -> TaskMetrics:
    p = np.clip(np.asarray(predicted, dtype=np.float64), 1e-7, 1 - 1e-7)
    y = np.asarray(labels, dtype=np.float64)
    if p.shape != y.shape:
        raise ValueError(f"predicted {p.shape} and labels {y.shape} differ in shape")
    positives = int(y.sum())
    both = 0 < positives < y.size
    t = None if truth is None else np.asarray(truth, dtype=np.float64)
    return TaskMetrics(
        auc=float(roc_auc_score(y, p)) if both else float("nan"),
        logloss=float(log_loss(y, p, labels=[0, 1])),
        ece=expected_calibration_error(p, y, n_bins=n_bins),
        positives=positives,
        rows=int(y.size),
        mean_predicted=float(p.mean()),
        true_ece=None if t is None else expected_calibration_error(p, t, n_bins=n_bins),
        true_mae=None if t is None else float(np.abs(p - t).mean()),
    )


@dataclass(frozen=True)
class RankerMetrics(Mapping[str, float]):
    """Per-task metrics, readable flat as ``"click.auc"``, ``"purchase.ece"``, ..."""

    tasks: Mapping[str, TaskMetrics]

    def as_dict(self) -> dict[str, float]:
        return {f"{t}.{k}": v for t, m in self.tasks.items() for k, v in m.as_dict().items()}

    def __getitem__(self, name: str) -> float:
        return self.as_dict()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_dict())

    def __len__(self) -> int:
        return len(self.as_dict())


def evaluate_ranker(
    ranker: Ranker,
    features: RankerFeatures,
    *,
    split: Split | None = Split.TEST,
    truth: Mapping[str, NDArray[np.floating]] | None = None,
    n_bins: int = DEFAULT_BINS,
) -> RankerMetrics:
    """The ranker's metrics per task on the `split` rows of `features` (all rows for
    None). `truth`, where known (the simulator), holds the true probability of each
    task for every row of `features`."""
    rows = np.ones(len(features), dtype=bool)
    if split is not None:
        if features.split is None:
            raise ValueError("these features have no split: pass split=None to use every row")
        rows = features.split == split.value
    if not rows.any():
        raise ValueError(f"no rows in split '{split}' to evaluate on")
    chosen = features.subset(rows)
    missing = [t for t in ranker.tasks if t not in chosen.labels]
    if missing:
        raise ValueError(f"the features have no labels for task(s) {missing}")
    predicted = ranker.predict(chosen)
    out: dict[str, TaskMetrics] = {}
    for t in ranker.tasks:
        true_p = None
        if truth is not None and t in truth:
            if truth[t].shape != (len(features),):
                raise ValueError(f"truth['{t}'] must have one value per row of the features")
            true_p = truth[t][rows]
        out[t] = task_metrics(predicted[t], chosen.labels[t], truth=true_p, n_bins=n_bins)
    return RankerMetrics(out)
