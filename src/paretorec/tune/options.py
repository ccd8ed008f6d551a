"""What `paretorec tune` can tune, and with which sampler (no heavy imports)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Sampler", "TunableStage"]


class TunableStage(StrEnum):
    RANKER = "ranker"
    RECOMMENDER = "recommender"


class Sampler(StrEnum):
    """Optuna's samplers for one or several objectives."""

    TPE = "tpe"  # tree-structured Parzen estimator (multi-objective: MOTPE)
    NSGA2 = "nsga2"  # the genetic algorithm NSGA-II
