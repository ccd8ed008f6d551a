"""The objectives y_k the policy is rewarded on, and R = sum_k w_k y_k.

Shopper feedback (clicks, purchases, revenue) comes from the environment summed over the
list and divided by a scale (`RewardScales`, e.g. the uniformly random policy's mean from
the logs), so that each is about 1 for a random list. Diversity, exposure fairness and
novelty are the package's list objectives (`paretorec.objectives`: category diversity over
the candidates' categories, the sellers' share of exposure under the position weights,
mean self-information of the items' popularity), already in [0, 1]. Relevance is the
list's NDCG against graded relevance (`list_ndcg`: gain 2^g - 1, discount 1 / log2(1 + r),
over the ideal list of the same candidates, as `paretorec.objectives.ndcg` and `pareto`'s
`ndcg`), in [0, 1]; in the simulator the grades are the shopper's true relevance to her
intent, which the policy never sees (it reads a predicted relevance).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from paretorec.objectives import CATEGORY_DIVERSITY, EXPOSURE_FAIRNESS, NOVELTY, ListContext
from paretorec.objectives.kernels import Gain, gains, position_discount
from paretorec.policy.inputs import FloatArray, IntArray


class PolicyObjective(StrEnum):
    CLICKS = "clicks"
    PURCHASES = "purchases"
    REVENUE = "revenue"
    DIVERSITY = "diversity"
    EXPOSURE_FAIRNESS = "exposure_fairness"
    NOVELTY = "novelty"
    RELEVANCE = "relevance"


FEEDBACK_OBJECTIVES: tuple[PolicyObjective, ...] = (
    PolicyObjective.CLICKS,
    PolicyObjective.PURCHASES,
    PolicyObjective.REVENUE,
)
LIST_OBJECTIVES = {
    PolicyObjective.DIVERSITY: CATEGORY_DIVERSITY,
    PolicyObjective.EXPOSURE_FAIRNESS: EXPOSURE_FAIRNESS,
    PolicyObjective.NOVELTY: NOVELTY,
}


def list_ndcg(grades: FloatArray, lists: IntArray, *, gain: Gain = Gain.EXPONENTIAL) -> FloatArray:
    """NDCG of each list: grades (n, c) >= 0 of the candidates, lists (n, k) candidate
    indices best first; DCG of the list over the DCG of the best k candidates, 0 where no
    candidate is relevant. (n,), in [0, 1]."""
    g = np.asarray(grades, dtype=np.float64)
    rows = np.asarray(lists, dtype=np.int64)
    if g.ndim != 2 or rows.ndim != 2 or rows.shape[0] != g.shape[0]:
        raise ValueError(f"grades (n, c) and lists (n, k) must match, got {g.shape}, {rows.shape}")
    if g.size and g.min() < 0:
        raise ValueError(f"grades must be >= 0, found {g.min()}")
    k = rows.shape[1]
    all_gains = gains(g, gain)
    discount = position_discount(k)
    dcg = np.take_along_axis(all_gains, rows, axis=1) @ discount
    ideal = -np.sort(-all_gains, axis=1)[:, :k] @ discount
    out: FloatArray = np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1.0), 0.0)
    return out


def parse_objectives(names: tuple[str, ...] | list[str]) -> tuple[PolicyObjective, ...]:
    """Objective names checked against `PolicyObjective`, distinct, at least one."""
    known = ", ".join(o.value for o in PolicyObjective)
    out = []
    for name in names:
        try:
            out.append(PolicyObjective(name))
        except ValueError:
            raise ValueError(f"unknown objective {name!r} (expected one of: {known})") from None
    if not out or len(set(out)) != len(out):
        raise ValueError(f"objectives must be distinct and at least one, got {list(names)}")
    return tuple(out)


@dataclass(frozen=True)
class RewardScales:
    """Divisors of the feedback objectives (clicks, purchases, revenue per list)."""

    clicks: float = 1.0
    purchases: float = 1.0
    revenue: float = 1.0

    def __post_init__(self) -> None:
        for name in ("clicks", "purchases", "revenue"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"the scale of {name} must be positive, got {value}")

    def of(self, objective: PolicyObjective) -> float:
        return float(getattr(self, objective.value))


@dataclass(frozen=True)
class ListFacts:
    """Per-candidate facts of the list objectives, arrays of shape (n, c); examination
    (k,) weighs the positions for exposure."""

    categories: IntArray | None = None
    sellers: IntArray | None = None
    popularity: FloatArray | None = None  # in (0, 1]
    examination: FloatArray | None = None


def list_objective_values(
    objectives: tuple[PolicyObjective, ...], lists: IntArray, facts: ListFacts
) -> dict[PolicyObjective, FloatArray]:
    """Each list objective of each list (n, k): {objective: (n,)}, by the package's
    objective functions, one `ListContext` per request."""
    wanted = [o for o in objectives if o in LIST_OBJECTIVES]
    n = lists.shape[0]
    out = {o: np.empty(n) for o in wanted}
    if not wanted:
        return out
    for i in range(n):
        context = ListContext(
            categories=None if facts.categories is None else facts.categories[i],
            sellers=None if facts.sellers is None else facts.sellers[i],
            popularity=None if facts.popularity is None else facts.popularity[i],
            examination=facts.examination,
        )
        for o in wanted:
            out[o][i] = LIST_OBJECTIVES[o](lists[i], context)
    return out


def feedback_objective_values(
    objectives: tuple[PolicyObjective, ...],
    feedback: Mapping[str, NDArray[np.float64]],
    scales: RewardScales,
) -> dict[PolicyObjective, FloatArray]:
    """Clicks, purchases, revenue summed over each list (feedback arrays (n, k)) and
    divided by their scales: {objective: (n,)}."""
    return {
        o: np.asarray(feedback[o.value], dtype=np.float64).sum(axis=1) / scales.of(o)
        for o in objectives
        if o in FEEDBACK_OBJECTIVES
    }


def scalarize(
    values: Mapping[PolicyObjective, FloatArray],
    objectives: tuple[PolicyObjective, ...],
    weights: FloatArray,
) -> FloatArray:
    """R = sum_k w_k y_k per request; weights (n, m) in `objectives` order."""
    stacked = np.stack([values[o] for o in objectives], axis=1)
    out: FloatArray = (stacked * weights).sum(axis=1)
    return out
