"""The scoring stages behind small protocols, and what the service does without them.

A request flows: candidates (the search index, or the recommender) → ranker (per-objective
predictions for each candidate) → policy (the final list for the objective weights, with
each item's per-objective contributions). Each stage is loaded from its registry version
by an adapter (`paretorec.serve.adapters`); a stage without a version is `None`, and the
pipeline falls back, saying so in every response:

- no ranker: one objective, ``relevance``, the retrieval (or recommender) score as a
  share of the best candidate's;
- no policy: items ordered by the weighted sum of the predictions, each first scaled to
  a share of the best candidate's (so a price-sized revenue does not drown a click
  probability); an item's contribution is its weight times its scaled prediction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from paretorec.moo.scalarize import weighted_sum
from paretorec.types import Catalog

__all__ = [
    "RELEVANCE",
    "CandidateSet",
    "PolicyChoice",
    "PolicyStage",
    "RankerStage",
    "Recommended",
    "RecommenderStage",
    "RequestContext",
    "Stage",
    "relevance_predictions",
    "weighted_sum_choice",
]

RELEVANCE = "relevance"
FloatArray = NDArray[np.float64]


class Stage(StrEnum):
    INDEX = "index"
    RANKER = "ranker"
    POLICY = "policy"
    RECOMMENDER = "recommender"


@dataclass(frozen=True, eq=False)
class RequestContext:
    """Who asks and what: the query (search) and/or the shopper and her session items."""

    query: str | None
    query_vector: NDArray[np.float32] | None
    user_id: str | None
    session_items: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class CandidateSet:
    """Candidates, best first by their first-stage `scores`; `items`, their catalog rows,
    are built on first use (`rows_of` reads them), as only the ranker needs them."""

    item_ids: tuple[str, ...]
    scores: FloatArray
    sources: tuple[str, ...]
    rows_of: Callable[[Sequence[str]], Catalog]

    def __len__(self) -> int:
        return len(self.item_ids)

    @cached_property
    def items(self) -> Catalog:
        return self.rows_of(self.item_ids)


@dataclass(frozen=True, eq=False)
class PolicyChoice:
    """The chosen list: candidate indices best first, each item's score and its
    contributions by name (each of shape ``(len(order),)``, summing to the score)."""

    order: NDArray[np.int64]
    scores: FloatArray
    contributions: Mapping[str, FloatArray]


@dataclass(frozen=True, eq=False)
class Recommended:
    """A recommender's candidates, best first, and the session items it did not know."""

    item_ids: tuple[str, ...]
    scores: FloatArray
    sources: tuple[str, ...]
    ignored: tuple[str, ...] = ()


class RankerStage(Protocol):
    """Per-objective predictions for each candidate of a request."""

    @property
    def tasks(self) -> tuple[str, ...]: ...

    def predict(
        self, context: RequestContext, candidates: CandidateSet
    ) -> Mapping[str, FloatArray]: ...


class PolicyStage(Protocol):
    """The final list from candidates, their predictions and the objective weights."""

    @property
    def objectives(self) -> tuple[str, ...]: ...

    @property
    def prediction_names(self) -> tuple[str, ...]: ...

    @property
    def default_weights(self) -> Mapping[str, float] | None: ...

    def choose(
        self,
        context: RequestContext,
        candidates: CandidateSet,
        predictions: Mapping[str, FloatArray],
        weights: FloatArray,
        k: int,
    ) -> PolicyChoice: ...


class RecommenderStage(Protocol):
    """Candidates for a shopper or a session; takes catalog changes live."""

    def recommend(
        self,
        *,
        user_id: str | None,
        session_items: Sequence[str],
        k: int,
        exclude: Sequence[str],
    ) -> Recommended: ...

    def add_items(self, catalog: Catalog, vectors: NDArray[np.float32]) -> None: ...

    def remove_items(self, item_ids: Sequence[str]) -> None: ...


def relevance_predictions(scores: FloatArray) -> dict[str, FloatArray]:
    """The no-ranker objective: first-stage scores as a share of the best one, in [0, 1]."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return {RELEVANCE: scores}
    low = min(float(scores.min()), 0.0)
    shifted = scores - low
    top = float(shifted.max())
    return {RELEVANCE: shifted / top if top > 0 else np.ones_like(scores)}


def scaled(values: FloatArray) -> FloatArray:
    """Non-negative values as a share of the largest (all zero stays zero)."""
    values = np.clip(np.asarray(values, dtype=np.float64), 0.0, None)
    top = float(values.max()) if values.size else 0.0
    return values / top if top > 0 else np.zeros_like(values)


def weighted_sum_choice(
    predictions: Mapping[str, FloatArray], names: Sequence[str], weights: FloatArray, k: int
) -> PolicyChoice:
    """The no-policy order: weighted sum of the scaled predictions, best first (ties keep
    the first-stage order)."""
    matrix = np.stack([scaled(predictions[name]) for name in names], axis=1)
    scores = weighted_sum(matrix, weights)
    order = np.argsort(-scores, kind="stable")[:k].astype(np.int64)
    parts = matrix[order] * weights[None, :]
    return PolicyChoice(order, scores[order], {name: parts[:, j] for j, name in enumerate(names)})
