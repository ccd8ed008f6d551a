"""Each objective y_k as a pure function of a ranked list and its context, in [0, 1].

The same functions serve evaluation, the policy's reward R = Σ w_k·y_k and the service's
explanations. `STANDARD_OBJECTIVES` lists them; each `Objective` carries its direction.
"""

from paretorec.objectives.base import ListContext, Objective, evaluate_objectives
from paretorec.objectives.catalog import (
    CATEGORY_DIVERSITY,
    EMBEDDING_DIVERSITY,
    EXPECTED_CLICKS,
    EXPECTED_MARGIN,
    EXPECTED_PURCHASES,
    EXPECTED_REVENUE,
    EXPOSURE_FAIRNESS,
    MISCALIBRATION,
    NDCG,
    NOVELTY,
    STANDARD_OBJECTIVES,
)
from paretorec.objectives.kernels import Gain
from paretorec.types import Direction

__all__ = [
    "CATEGORY_DIVERSITY",
    "EMBEDDING_DIVERSITY",
    "EXPECTED_CLICKS",
    "EXPECTED_MARGIN",
    "EXPECTED_PURCHASES",
    "EXPECTED_REVENUE",
    "EXPOSURE_FAIRNESS",
    "MISCALIBRATION",
    "NDCG",
    "NOVELTY",
    "STANDARD_OBJECTIVES",
    "Direction",
    "Gain",
    "ListContext",
    "Objective",
    "evaluate_objectives",
]
