"""What the service does without a ranker or a policy version, saying so in every response:

- no ranker: one objective, ``relevance``, the retrieval (or recommender) score as a
  share of the best candidate's;
- no policy: items ordered by the weighted sum of the predictions, each first scaled to
  a share of the best candidate's (so a price-sized revenue does not drown a click
  probability); an item's contribution is its weight times its scaled prediction.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from paretorec.moo.scalarize import weighted_sum
from paretorec.objectives.kernels import share_of_best
from paretorec.preference import Preference
from paretorec.stages import Ranking

__all__ = ["RELEVANCE", "relevance_predictions", "scaled", "weighted_sum_ranking"]

RELEVANCE = "relevance"
FloatArray = NDArray[np.float64]


def relevance_predictions(scores: FloatArray) -> dict[str, FloatArray]:
    """The no-ranker objective: first-stage scores as a share of the best one, in [0, 1]."""
    return {RELEVANCE: share_of_best(np.asarray(scores, dtype=np.float64))}


def scaled(values: FloatArray) -> FloatArray:
    """Non-negative values as a share of the largest (all zero stays zero)."""
    values = np.clip(np.asarray(values, dtype=np.float64), 0.0, None)
    top = float(values.max()) if values.size else 0.0
    return values / top if top > 0 else np.zeros_like(values)


def weighted_sum_ranking(
    predictions: Mapping[str, FloatArray], preference: Preference, k: int
) -> Ranking:
    """The no-policy order: weighted sum of the scaled predictions, best first (ties keep
    the first-stage order)."""
    names = preference.names
    weights = preference.weights
    matrix = np.stack([scaled(predictions[name]) for name in names], axis=1)
    scores = weighted_sum(matrix, weights)
    order = np.argsort(-scores, kind="stable")[:k].astype(np.int64)
    parts = matrix[order] * weights[None, :]
    return Ranking(order, scores[order], {name: parts[:, j] for j, name in enumerate(names)})
