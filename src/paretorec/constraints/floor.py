"""The relevance floor: in search, an off-topic item is a defect whatever the trade-off.

A shop sets a floor on the query relevance of an item (in [0, 1]: the relevance the
served policy weighs where it predicts its own, else the ranker's relevance prediction
where it has one, else the first stage's score as a share of the best candidate's). No weighting can trade it away: the model's order is split, stably, into
the items that pass and those below, and every passing item goes first. An item below the
floor still appears when too few items pass (a short list is no better), named with the
rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["RELEVANCE_FLOOR", "FlooredOrder", "apply_floor", "check_floor"]

RELEVANCE_FLOOR = "relevance floor"


def check_floor(value: object) -> float:
    """The floor as a float in [0, 1]; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"relevance_floor must be a number in [0, 1], got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"relevance_floor must be in [0, 1] (a share of the best), got {value}")
    return float(value)


@dataclass(frozen=True)
class FlooredOrder:
    """The order with every passing item first, and the items the floor moved down
    (below the floor, with a passing item after them in the model's order)."""

    order: tuple[int, ...]
    demoted: frozenset[int]


def apply_floor(order: Sequence[int], relevance: Sequence[float], floor: float) -> FlooredOrder:
    """Stable partition of `order` (candidate indices, best first) by `relevance[i] >=
    floor`; a missing (NaN) relevance counts as below."""
    passes = [bool(relevance[i] >= floor) for i in order]  # NaN >= x is False
    last_pass = max((n for n, ok in enumerate(passes) if ok), default=-1)
    demoted = frozenset(i for n, i in enumerate(order) if not passes[n] and n < last_pass)
    kept = [i for i, ok in zip(order, passes, strict=True) if ok]
    below = [i for i, ok in zip(order, passes, strict=True) if not ok]
    return FlooredOrder((*kept, *below), demoted)
