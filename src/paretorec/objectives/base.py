"""What an objective is: a named pure function of one ranked list and its context.

A ranking request has n candidates; a ranked list is a 1-D array of distinct candidate
indices, best first. `ListContext` holds per-candidate facts (every field optional, each
objective says which it needs), so one context serves every objective, and an objective's
ideal (its best list of the same length from these candidates) is computable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from paretorec.objectives import validation as check
from paretorec.objectives.kernels import position_discount
from paretorec.objectives.validation import IntVector
from paretorec.types import Direction

# Per-candidate float fields and the value rule each must satisfy.
_PROBABILITY = ("click_probs", "purchase_probs")
_NONNEGATIVE = ("grades", "prices", "margins")


@dataclass(frozen=True, eq=False)
class ListContext:
    """Facts about the n candidates of one request (arrays of length n unless noted).

    grades: relevance grades >= 0 (0 = not relevant).
    click_probs: probability of a click if examined, in [0, 1].
    purchase_probs: probability of a purchase given a click, in [0, 1].
    prices, margins: per unit, >= 0 (margin = price - cost, clipped at 0 by the caller).
    categories, sellers: labels of any hashable type (strings, ints).
    embeddings: (n, d) item vectors, no zero rows where used.
    popularity: p(item) from training interactions, in (0, 1].
    history_categories: category labels of the user's past items (any length).
    examination: (positions,) probability that each position is examined, in [0, 1];
        default ``1 / log2(1 + rank)``.
    """

    grades: NDArray[np.float64] | None = None
    click_probs: NDArray[np.float64] | None = None
    purchase_probs: NDArray[np.float64] | None = None
    prices: NDArray[np.float64] | None = None
    margins: NDArray[np.float64] | None = None
    categories: NDArray[Any] | None = None
    sellers: NDArray[Any] | None = None
    embeddings: NDArray[np.float64] | None = None
    popularity: NDArray[np.float64] | None = None
    history_categories: NDArray[Any] | None = None
    examination: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        lengths: dict[str, int] = {}
        for name in (*_PROBABILITY, *_NONNEGATIVE, "popularity"):
            raw = getattr(self, name)
            if raw is None:
                continue
            array = check.float_array(raw, name)
            if name in _PROBABILITY:
                check.probabilities(array, name)
            elif name in _NONNEGATIVE:
                check.nonnegative(array, name)
            elif array.size and (array.min() <= 0 or array.max() > 1):
                raise ValueError(
                    f"popularity must lie in (0, 1], found [{array.min()}, {array.max()}]"
                )
            object.__setattr__(self, name, array)
            lengths[name] = array.size
        for name in ("categories", "sellers"):
            raw = getattr(self, name)
            if raw is not None:
                array = np.asarray(raw)
                if array.ndim != 1:
                    raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
                object.__setattr__(self, name, array)
                lengths[name] = array.size
        if self.embeddings is not None:
            embeddings = check.float_array(self.embeddings, "embeddings", ndim=2)
            object.__setattr__(self, "embeddings", embeddings)
            lengths["embeddings"] = embeddings.shape[0]
        if self.history_categories is not None:
            history = np.asarray(self.history_categories)
            if history.ndim != 1:
                raise ValueError(f"history_categories must be 1-D, got shape {history.shape}")
            object.__setattr__(self, "history_categories", history)
        if self.examination is not None:
            exam = check.probabilities(
                check.float_array(self.examination, "examination"), "examination"
            )
            object.__setattr__(self, "examination", exam)
        if not lengths:
            raise ValueError("ListContext needs at least one per-candidate field")
        if len(set(lengths.values())) > 1:
            described = ", ".join(f"{k}={v}" for k, v in lengths.items())
            raise ValueError(f"per-candidate fields differ in length: {described}")

    @property
    def n_candidates(self) -> int:
        for field in fields(self):
            if field.name in ("history_categories", "examination"):
                continue
            value = getattr(self, field.name)
            if value is not None:
                return int(value.shape[0])
        raise AssertionError("unreachable: __post_init__ requires a per-candidate field")

    def require(self, *names: str, by: str) -> None:
        """Raise ValueError naming the fields `by` needs that this context lacks."""
        missing = [n for n in names if getattr(self, n) is None]
        if missing:
            raise ValueError(f"{by} needs ListContext.{', ListContext.'.join(missing)}")

    def ranked(self, items: ArrayLike) -> IntVector:
        """`items` checked as a ranked list of these candidates."""
        return check.ranking(items, n_candidates=self.n_candidates)

    def examination_weights(self, length: int) -> NDArray[np.float64]:
        """Examination probabilities of the first `length` positions."""
        if self.examination is None:
            return position_discount(length)
        if self.examination.size < length:
            raise ValueError(
                f"examination covers {self.examination.size} positions, the list has {length}"
            )
        return self.examination[:length]


ObjectiveFn = Callable[[ArrayLike, ListContext], float]

_ROUNDING = 1e-9


@dataclass(frozen=True)
class Objective:
    """A named objective y_k: `fn(ranking, context)` in [0, 1], better in `direction`."""

    name: str
    direction: Direction
    fn: ObjectiveFn
    description: str = ""

    def __call__(self, ranking: ArrayLike, context: ListContext) -> float:
        value = float(self.fn(ranking, context))
        if not -_ROUNDING <= value <= 1.0 + _ROUNDING:
            raise ValueError(f"objective {self.name} returned {value}, outside [0, 1]")
        return min(max(value, 0.0), 1.0)

    def to_maximize(self, value: float) -> float:
        """The value turned so that larger is better: itself, or ``1 - value`` to minimize."""
        return value if self.direction is Direction.MAXIMIZE else 1.0 - value


def evaluate_objectives(
    objectives: tuple[Objective, ...], ranking: ArrayLike, context: ListContext
) -> dict[str, float]:
    """``{objective.name: value}`` for one ranked list."""
    names = [o.name for o in objectives]
    if len(set(names)) != len(names):
        raise ValueError(f"objective names repeat: {names}")
    return {o.name: o(ranking, context) for o in objectives}
