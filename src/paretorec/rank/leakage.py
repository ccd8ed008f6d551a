"""Refusing features that leak a label.

A feature that leaks a label (a CTCVR flag left among the features, a click count
that includes this row's click) predicts it alone almost perfectly. Each dense feature
and the position are scored against each task by single-feature ROC AUC; one at or
above `max_auc` (or at or below 1 - `max_auc`: a reversed leak) is refused, and so is
a feature whose name is a task's name. Tasks with fewer than `min_class_rows` positive
or negative rows are not checked: with few positives a harmless feature can separate
them by chance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

from paretorec.rank.features import RankerFeatures
from paretorec.rank.samples import LabelLeakageError

DEFAULT_MAX_AUC = 0.99
DEFAULT_MIN_CLASS_ROWS = 10

__all__ = ["LabelLeakageError", "LeakFinding", "check_label_leakage", "find_label_leaks"]


@dataclass(frozen=True)
class LeakFinding:
    feature: str
    task: str
    auc: float


def single_feature_auc(feature: NDArray[np.floating], label: NDArray[np.floating]) -> float:
    """ROC AUC of ranking rows by `feature` alone (ties count half), by the rank-sum
    formula; NaN when `label` has one class only."""
    y = np.asarray(label) > 0.5
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.asarray(feature, dtype=np.float64))
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def find_label_leaks(
    features: RankerFeatures,
    *,
    max_auc: float = DEFAULT_MAX_AUC,
    min_class_rows: int = DEFAULT_MIN_CLASS_ROWS,
) -> list[LeakFinding]:
    """Every (feature, task) pair that looks like a leak."""
    if not 0.5 < max_auc <= 1.0:
        raise ValueError(f"max_auc must be in (0.5, 1], got {max_auc}")
    columns = {name: features.dense[:, j] for j, name in enumerate(features.spec.dense_names)}
    columns["position"] = features.position.astype(np.float64)
    found: list[LeakFinding] = []
    for task, y in features.labels.items():
        for name in columns:
            if name.split(":")[-1].lower() == task.lower():
                found.append(LeakFinding(name, task, float("nan")))
        n_pos = int((y > 0.5).sum())
        if min(n_pos, y.size - n_pos) < min_class_rows:
            continue
        for name, values in columns.items():
            auc = single_feature_auc(values, y)
            if max(auc, 1.0 - auc) >= max_auc:
                found.append(LeakFinding(name, task, auc))
    return found


def check_label_leakage(
    features: RankerFeatures,
    *,
    max_auc: float = DEFAULT_MAX_AUC,
    min_class_rows: int = DEFAULT_MIN_CLASS_ROWS,
) -> None:
    """Raise `LabelLeakageError` naming each leaking feature (see the module docstring)."""
    leaks = find_label_leaks(features, max_auc=max_auc, min_class_rows=min_class_rows)
    if leaks:
        described = "; ".join(
            f"'{f.feature}' is named like task '{f.task}'"
            if np.isnan(f.auc)
            else f"'{f.feature}' alone predicts '{f.task}' with AUC {f.auc:.3f}"
            for f in leaks
        )
        raise LabelLeakageError(
            f"feature(s) leak a label: {described}; remove them (or build with "
            "check_leakage=False if this is intended)"
        )
