"""The promotion gate: a candidate against the promoted policy, objective by objective.

Both policies are judged on the same held-back rounds by the same estimator, so their
difference is bootstrapped paired: every replicate draws one set of rounds and computes
both values on it (an unpaired comparison would add both policies' noise). A candidate is
promoted when, for every estimator, no objective is worse beyond the tolerance (its
difference's interval lies wholly below -tolerance x |the promoted value|) and the
weighted objective is better (its difference's interval lies above zero).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from paretorec.evaluate.ope.base import FloatArray, RoundTerms

__all__ = [
    "WEIGHTED",
    "Comparison",
    "Decision",
    "GateRule",
    "compare",
    "decide",
    "replicate_values",
]

WEIGHTED = "weighted"


@dataclass(frozen=True)
class GateRule:
    """How sure the gate must be: `tolerance` is the share of the promoted value an
    objective may lose; `alpha` the intervals' level; `n_bootstrap` their replicates."""

    tolerance: float = 0.02
    alpha: float = 0.05
    n_bootstrap: int = 500
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.tolerance < 1:
            raise ValueError(f"tolerance must lie in [0, 1), got {self.tolerance}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must lie in (0, 1), got {self.alpha}")
        if self.n_bootstrap < 10:
            raise ValueError(f"n_bootstrap must be at least 10, got {self.n_bootstrap}")


@dataclass(frozen=True)
class Comparison:
    """One objective under one estimator: both values and their paired difference."""

    objective: str
    estimator: str
    candidate: float
    promoted: float
    difference: float
    lower: float
    upper: float

    def worse(self, tolerance: float) -> bool:
        return self.upper < -tolerance * abs(self.promoted)

    def better(self) -> bool:
        return self.lower > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "estimator": self.estimator,
            "candidate": self.candidate,
            "promoted": self.promoted,
            "difference": self.difference,
            "lower": self.lower,
            "upper": self.upper,
        }


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    comparisons: tuple[Comparison, ...]
    alpha: float = 0.05

    def to_json(self) -> dict[str, Any]:
        return {
            "promote": self.promote,
            "reason": self.reason,
            "alpha": self.alpha,
            "comparisons": [c.to_json() for c in self.comparisons],
        }


def replicate_values(terms: RoundTerms, index: np.ndarray) -> FloatArray:
    """`terms.value()` on each row of bootstrap indices `index` (n_replicates, n)."""
    return terms.resampled(index)


def compare(
    candidate: Mapping[str, RoundTerms],
    promoted: Mapping[str, RoundTerms],
    *,
    estimator: str,
    rule: GateRule,
) -> list[Comparison]:
    """Paired-bootstrap comparisons of each objective's round terms (same rounds, same
    replicates for every objective)."""
    if set(candidate) != set(promoted):
        raise ValueError(
            "the candidate and the promoted policy must be judged on the same objectives"
        )
    sizes = {t.base.shape[0] for t in [*candidate.values(), *promoted.values()]}
    if len(sizes) != 1:
        raise ValueError(
            f"both policies must be judged on the same rounds, got sizes {sorted(sizes)}"
        )
    n = sizes.pop()
    rng = np.random.default_rng(rule.seed)
    index = rng.integers(0, n, size=(rule.n_bootstrap, n))
    out = []
    for name in candidate:
        a, b = candidate[name], promoted[name]
        diffs = replicate_values(a, index) - replicate_values(b, index)
        lower, upper = np.percentile(diffs, [50 * rule.alpha, 100 - 50 * rule.alpha])
        va, vb = a.value(), b.value()
        out.append(Comparison(name, estimator, va, vb, va - vb, float(lower), float(upper)))
    return out


def decide(comparisons: Sequence[Comparison], rule: GateRule) -> Decision:
    """Promote only when no objective is worse beyond the tolerance and the weighted
    objective is better, under every estimator (see the module docstring)."""
    if not any(c.objective == WEIGHTED for c in comparisons):
        raise ValueError(f"the comparisons need the {WEIGHTED!r} objective")
    reasons = []
    for c in comparisons:
        if c.objective != WEIGHTED and c.worse(rule.tolerance):
            reasons.append(
                f"{c.objective} is worse by {c.estimator} ({c.difference:+.4g}, interval "
                f"[{c.lower:+.4g}, {c.upper:+.4g}] below -{rule.tolerance:.0%} of {c.promoted:.4g})"
            )
    for c in comparisons:
        if c.objective == WEIGHTED and not c.better():
            reasons.append(
                f"the weighted objective is not better by {c.estimator} ({c.difference:+.4g}, "
                f"interval [{c.lower:+.4g}, {c.upper:+.4g}] reaches 0)"
            )
    if reasons:
        return Decision(False, "; ".join(reasons), tuple(comparisons), rule.alpha)
    gains = ", ".join(
        f"{c.estimator} {c.difference:+.4g} [{c.lower:+.4g}, {c.upper:+.4g}]"
        for c in comparisons
        if c.objective == WEIGHTED
    )
    return Decision(
        True,
        f"the weighted objective is better ({gains}) and no objective is worse",
        tuple(comparisons),
        rule.alpha,
    )
