"""FA*IR: a minimum number of protected items at every prefix of the list.

Zehlike et al. (2017), "FA*IR: A Fair Top-k Ranking Algorithm". A list of length k is
judged fair towards a protected group of target share `p` when no prefix of it holds
so few protected items that a binomial draw with success probability `p` would be that
low with probability under the significance `alpha`: prefix i needs at least

    m(i) = F^-1(alpha; i, p)   (the smallest m with P[Binomial(i, p) <= m] >= alpha)

protected items. Testing k prefixes at `alpha` each rejects a truly fair ranking more
often than `alpha`, so the paper adjusts the significance: `adjusted_alpha` finds the
largest alpha_c <= alpha whose table rejects a fair (Bernoulli-p) ranking with
probability at most `alpha`, computed exactly (`fail_probability`, a dynamic programme
over the protected count of each prefix). fairsearchcore picks the table whose
failure probability is *closest* to `alpha`, which may lie above it; here the test
never rejects fair rankings more often than it says.

`fair_rerank` is the paper's algorithm on a model's order: at each position, the best
protected item when the prefix would otherwise fall below m(i), else the better of the
two groups' best items (the one earlier in the model's order). Each group keeps its own
order. When the protected items run out the list is filled from the others and marked
infeasible: the guarantee holds whenever enough protected items exist.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats

__all__ = [
    "FAIR_TOPK",
    "FairRanking",
    "FairTopK",
    "adjusted_alpha",
    "fail_probability",
    "fair_rerank",
    "minimum_table",
]

FAIR_TOPK = "fair top-k"  # the rule name an item FA*IR moved up carries


def _check(k: int, p: float, alpha: float) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if not 0.0 < p < 1.0:
        raise ValueError(f"p (the protected group's target share) must be in (0, 1), got {p}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha (the significance) must be in (0, 1), got {alpha}")


def minimum_table(k: int, p: float, alpha: float) -> tuple[int, ...]:
    """m(1), ..., m(k): the protected items each prefix needs (unadjusted alpha)."""
    _check(k, p, alpha)
    m = stats.binom.ppf(alpha, np.arange(1, k + 1), p)
    return tuple(max(0, int(v)) for v in m)


def fail_probability(table: Sequence[int], p: float) -> float:
    """The probability that a list whose items are protected independently with
    probability `p` falls below `table` at some prefix (exact)."""
    counts = np.zeros(len(table) + 1)
    counts[0] = 1.0  # P[prefix so far holds c protected, and never failed]
    for i, needed in enumerate(table, start=1):
        step = counts * (1.0 - p)
        step[1:] += counts[:-1] * p
        step[: min(needed, i + 1)] = 0.0
        counts = step
    return float(max(0.0, 1.0 - counts.sum()))


@lru_cache(maxsize=64)
def adjusted_alpha(k: int, p: float, alpha: float) -> tuple[float, tuple[int, ...]]:
    """The largest alpha_c <= alpha whose table rejects a fair ranking of length k with
    probability at most alpha, and that table (bisection; the tables change in steps)."""
    _check(k, p, alpha)
    table = minimum_table(k, p, alpha)
    if fail_probability(table, p) <= alpha:
        return alpha, table
    low, high = 0.0, alpha  # fail(low) <= alpha < fail(high)
    best = tuple(0 for _ in range(k))
    for _ in range(60):
        middle = (low + high) / 2
        candidate = minimum_table(k, p, middle)
        if fail_probability(candidate, p) <= alpha:
            low, best = middle, candidate
        else:
            high = middle
        if high - low < 1e-12:
            break
    return low, best


@dataclass(frozen=True)
class FairRanking:
    """The re-ranked list (indices into the model's order's items, best first), the
    items moved up to meet the table, and whether the table held at every prefix."""

    order: tuple[int, ...]
    promoted: frozenset[int]
    feasible: bool


def fair_rerank(
    order: Sequence[int], protected: Sequence[bool], k: int, table: Sequence[int]
) -> FairRanking:
    """FA*IR on `order` (candidate indices, best first; `protected[i]` for candidate i):
    the top `k` (fewer when the order is shorter) meeting `table` wherever the protected
    items suffice (see the module docstring)."""
    if len(table) < min(k, len(order)):
        raise ValueError(f"the table covers {len(table)} positions, the list needs {k}")
    ours = [i for i in order if protected[i]]
    theirs = [i for i in order if not protected[i]]
    rank = {index: n for n, index in enumerate(order)}
    out: list[int] = []
    promoted: set[int] = set()
    feasible = True
    a = b = count = 0
    for position in range(min(k, len(order))):
        need = count < table[position]
        if a < len(ours) and (need or b >= len(theirs) or rank[ours[a]] < rank[theirs[b]]):
            chosen = ours[a]
            if need and b < len(theirs) and rank[theirs[b]] < rank[chosen]:
                promoted.add(chosen)
            a += 1
            count += 1
        else:
            chosen = theirs[b]
            b += 1
            feasible = feasible and not need
        out.append(chosen)
    return FairRanking(tuple(out), frozenset(promoted), feasible)


@dataclass(frozen=True)
class FairTopK:
    """A shop's FA*IR setting: items whose `field` value is in `protected` form the
    protected group, with target share `p` and significance `alpha` (adjusted for the
    list's length unless `adjust` is off)."""

    field: str
    protected: frozenset[str]
    p: float
    alpha: float = 0.1
    adjust: bool = True

    def __post_init__(self) -> None:
        if not self.protected:
            raise ValueError("fair_topk: protected must name at least one value")
        if not (math.isfinite(self.p) and math.isfinite(self.alpha)):
            raise ValueError("fair_topk: p and alpha must be finite")
        _check(1, self.p, self.alpha)

    def table(self, k: int) -> tuple[int, ...]:
        if self.adjust:
            return adjusted_alpha(k, self.p, self.alpha)[1]
        return minimum_table(k, self.p, self.alpha)

    def is_protected(self, value: object) -> bool:
        return value is not None and str(value) in self.protected

    def rerank(self, order: Sequence[int], values: Sequence[object], k: int) -> FairRanking:
        """FA*IR over `order` where `values[i]` is candidate i's value of `field`."""
        n = min(k, len(order))
        if n == 0:
            return FairRanking((), frozenset(), True)
        return fair_rerank(order, [self.is_protected(v) for v in values], n, self.table(n))
