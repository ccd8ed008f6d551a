"""Multi-task ranking: features, models, loss weighting, training, evaluation.

- Features (`build_ranker_features` for logged exposures with funnel labels,
  `build_candidate_features` for any (user, query, item) pairs at serving time):
  hashed ids, text vectors from the encoder, dense features, retrieval scores and the
  logging position (fixed to 1 for candidates).
- Models, each a dict from task name to logits: `SharedBottom`, `MMoE`, `PLE`, `ESMM`.
- Loss weighting (`Weighting`): fixed, uncertainty (Kendall et al.), MGDA-UB.
- `train_ranker` -> `Ranker` (`predict`, `save`, `load`); `evaluate_ranker` -> per-task
  AUC, log loss, ECE (and calibration against the simulator's true probabilities).
- `check_label_leakage` refuses features that give a label away.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paretorec.rank.config import Architecture, RankerConfig, TrainConfig, Weighting
    from paretorec.rank.evaluation import (
        RankerMetrics,
        TaskMetrics,
        evaluate_ranker,
        expected_calibration_error,
        task_metrics,
    )
    from paretorec.rank.features import (
        FeatureSpec,
        RankerFeatures,
        build_candidate_features,
        build_ranker_features,
        hash_buckets,
    )
    from paretorec.rank.leakage import (
        LabelLeakageError,
        LeakFinding,
        check_label_leakage,
        find_label_leaks,
        single_feature_auc,
    )
    from paretorec.rank.models import (
        ESMM,
        PLE,
        Batch,
        MMoE,
        MultiTaskModel,
        SharedBottom,
        build_model,
    )
    from paretorec.rank.ranker import Ranker, RankerFormatError
    from paretorec.rank.samples import LoggedSamples, logged_samples
    from paretorec.rank.simulated import SimulatedLogs, simulate_with_truth, truth_for
    from paretorec.rank.train import EpochRecord, TrainHistory, train_ranker
    from paretorec.rank.weighting import UncertaintyWeights, mgda_weights, min_norm_weights

# Loaded on first use, so that `paretorec.rank.config` (the CLI's option types) does not
# import torch and scikit-learn: `paretorec --help` stays fast.
_SOURCES: dict[str, tuple[str, ...]] = {
    "paretorec.rank.config": (
        "Architecture",
        "RankerConfig",
        "TrainConfig",
        "Weighting",
    ),
    "paretorec.rank.evaluation": (
        "RankerMetrics",
        "TaskMetrics",
        "evaluate_ranker",
        "expected_calibration_error",
        "task_metrics",
    ),
    "paretorec.rank.features": (
        "FeatureSpec",
        "RankerFeatures",
        "build_candidate_features",
        "build_ranker_features",
        "hash_buckets",
    ),
    "paretorec.rank.leakage": (
        "LabelLeakageError",
        "LeakFinding",
        "check_label_leakage",
        "find_label_leaks",
        "single_feature_auc",
    ),
    "paretorec.rank.models": (
        "ESMM",
        "PLE",
        "Batch",
        "MMoE",
        "MultiTaskModel",
        "SharedBottom",
        "build_model",
    ),
    "paretorec.rank.ranker": (
        "Ranker",
        "RankerFormatError",
    ),
    "paretorec.rank.samples": (
        "LoggedSamples",
        "logged_samples",
    ),
    "paretorec.rank.simulated": (
        "SimulatedLogs",
        "simulate_with_truth",
        "truth_for",
    ),
    "paretorec.rank.train": (
        "EpochRecord",
        "TrainHistory",
        "train_ranker",
    ),
    "paretorec.rank.weighting": (
        "UncertaintyWeights",
        "mgda_weights",
        "min_norm_weights",
    ),
}
_WHERE = {name: module for module, names in _SOURCES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ESMM",
    "PLE",
    "Architecture",
    "Batch",
    "EpochRecord",
    "FeatureSpec",
    "LabelLeakageError",
    "LeakFinding",
    "LoggedSamples",
    "MMoE",
    "MultiTaskModel",
    "Ranker",
    "RankerConfig",
    "RankerFeatures",
    "RankerFormatError",
    "RankerMetrics",
    "SharedBottom",
    "SimulatedLogs",
    "TaskMetrics",
    "TrainConfig",
    "TrainHistory",
    "UncertaintyWeights",
    "Weighting",
    "build_candidate_features",
    "build_model",
    "build_ranker_features",
    "check_label_leakage",
    "evaluate_ranker",
    "expected_calibration_error",
    "find_label_leaks",
    "hash_buckets",
    "logged_samples",
    "mgda_weights",
    "min_norm_weights",
    "simulate_with_truth",
    "single_feature_auc",
    "task_metrics",
    "train_ranker",
    "truth_for",
]
