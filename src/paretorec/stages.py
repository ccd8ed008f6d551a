"""The seam between the stages of a request: their interfaces and the values they pass.

A request walks down the floors once: candidates (a `Retriever` for search, a
`Recommender` for recommendation) → a `Predictor` (named per-objective predictions for
each candidate) → a `Policy` (one `Ranking` for the `Preference` w). Both sides import
these from here, as pymoo keeps its interfaces in one place: `serve` assembles the stages,
`rank` and `policy` implement them.

Candidates carry their item-store `rows`: a predictor prepares its item-side arrays
(features, prices, hashed ids, ...) once, indexed by those rows, when a version loads
(`ItemRows` is what it reads them from), and refreshes the rows a catalog change touched
(`refresh`); only the request side (query, user) is computed per request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from paretorec.preference import Preference
from paretorec.retrieve import Candidates as Retrieved
from paretorec.retrieve import Filters
from paretorec.types import Catalog

__all__ = [
    "CandidateSet",
    "ItemRows",
    "Policy",
    "Predictions",
    "Predictor",
    "Ranking",
    "Recommended",
    "Recommender",
    "RequestContext",
    "Retriever",
    "Stage",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

Predictions = Mapping[str, FloatArray]
"""Per-objective predictions by name (``click``, ``purchase``, ``revenue``, ...): one value
per candidate each, in the candidates' order."""


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
    """Candidates, best first by their first-stage `scores`, with their item-store `rows`
    (the index every stage's item-side arrays are kept by) and where each came from."""

    item_ids: tuple[str, ...]
    rows: IntArray
    scores: FloatArray
    sources: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.item_ids)


@dataclass(frozen=True, eq=False)
class Ranking:
    """The chosen list: candidate indices best first, each listed item's score and its
    contributions by name (each of shape ``(len(order),)``, summing to the score), the
    business rules that moved each item (none where no rule applies), and by objective how
    many places it moved each item up (empty where the policy cannot say)."""

    order: IntArray
    scores: FloatArray
    contributions: Mapping[str, FloatArray]
    moved_by: tuple[tuple[str, ...], ...] = ()
    places: Mapping[str, IntArray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.order.shape[0])


@dataclass(frozen=True, eq=False)
class Recommended:
    """A recommender's candidates, best first, and the session items it did not know."""

    item_ids: tuple[str, ...]
    scores: FloatArray
    sources: tuple[str, ...]
    ignored: tuple[str, ...] = ()
    cold_start: bool = False  # no usable history: the popular-and-diverse list


class ItemRows(Protocol):
    """The served catalog by row, as a predictor prepares its item-side arrays from it:
    rows are stable (a removed item keeps its row; a new one takes the next)."""

    @property
    def n_rows(self) -> int: ...

    def column(self, name: str) -> Sequence[Any]:
        """The column's value of every row (None where missing or unknown)."""
        ...

    def row_vectors(self, rows: IntArray) -> NDArray[np.float32]: ...

    def rows_of(self, item_ids: Sequence[str]) -> IntArray: ...

    def __contains__(self, item_id: object) -> bool: ...


class Retriever(Protocol):
    """Search candidates for a query; takes catalog changes live."""

    def search(
        self,
        query: str | bytes,
        query_vector: ArrayLike,
        *,
        k: int = 10,
        filters: Filters | None = None,
    ) -> Retrieved: ...

    def add_items(self, catalog: Catalog, vectors: Any) -> None: ...

    def update_items(self, catalog: Catalog, vectors: Any) -> None: ...

    def remove_items(self, item_ids: Any) -> None: ...

    def __len__(self) -> int: ...


class Predictor(Protocol):
    """Per-objective predictions for each candidate of a request."""

    @property
    def tasks(self) -> tuple[str, ...]: ...

    def predict(self, context: RequestContext, candidates: CandidateSet) -> Predictions: ...

    def refresh(self, rows: IntArray) -> None:
        """Re-read the item-side arrays of these rows (changed or added items)."""
        ...


class Policy(Protocol):
    """The final list from candidates, their predictions and the objective weights."""

    @property
    def objectives(self) -> tuple[str, ...]: ...

    @property
    def prediction_names(self) -> tuple[str, ...]: ...

    @property
    def default_preference(self) -> Preference | None: ...

    @property
    def plackett_luce(self) -> bool:
        """Whether its lists are Plackett-Luce draws over per-candidate scores (so a list
        can be sampled from the scores of its greedy order)."""
        ...

    def choose(
        self,
        context: RequestContext,
        candidates: CandidateSet,
        predictions: Predictions,
        preference: Preference,
        k: int,
    ) -> Ranking: ...

    def refresh(self, rows: IntArray) -> None: ...


class Recommender(Protocol):
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

    def observe(self, user_id: str, item_ids: Sequence[str]) -> int:
        """A shopper's new interactions, oldest first; how many it counted."""
        ...
