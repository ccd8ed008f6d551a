"""What `paretorec tune` can tune, and with which sampler (no heavy imports)."""

from __future__ import annotations

from enum import StrEnum

from paretorec.scale.backend import Backend  # where the trials run: one at a time, or on Ray

__all__ = ["Backend", "Sampler", "TunableStage"]


class TunableStage(StrEnum):
    RANKER = "ranker"
    POLICY = "policy"
    RECOMMENDER = "recommender"
    SEARCH = "search"


class Sampler(StrEnum):
    """Optuna's samplers for one or several objectives."""

    TPE = "tpe"  # tree-structured Parzen estimator (multi-objective: MOTPE)
    NSGA2 = "nsga2"  # the genetic algorithm NSGA-II
