"""Paired comparisons of two methods measured on the same units (queries, users).

A benchmark that reports "A beats B by 0.0013 NDCG@10" needs to say whether that lead is
more than the luck of which queries or users were drawn. Both methods are scored on the
same units, so the right interval is over the per-unit *differences*: `paired_bootstrap`
resamples units with replacement and takes the percentile interval of the mean
difference, using the same bootstrap code as the off-policy estimators
(`paretorec.evaluate.ope.base.bootstrap_interval`). The difference is *significant at
(1 - alpha)* when its interval excludes 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy.typing as npt

from paretorec.evaluate.ope.base import RoundTerms, as_float_vector, bootstrap_interval

__all__ = ["PairedComparison", "paired_bootstrap"]


@dataclass(frozen=True)
class PairedComparison:
    """mean(a) - mean(b) over `n` paired units, with its percentile-bootstrap interval."""

    difference: float
    lower: float
    upper: float
    mean_a: float
    mean_b: float
    n: int
    alpha: float
    n_bootstrap: int

    @property
    def significant(self) -> bool:
        """Whether the (1 - alpha) interval excludes 0."""
        return self.lower > 0 or self.upper < 0

    def interval_text(self, digits: int = 4) -> str:
        """`+0.0123 [+0.0050, +0.0190]`: the difference and its interval, signed."""
        return f"{self.difference:+.{digits}f} [{self.lower:+.{digits}f}, {self.upper:+.{digits}f}]"

    def as_dict(self) -> dict[str, float | int | bool]:
        return {
            "difference": self.difference,
            "lower": self.lower,
            "upper": self.upper,
            "mean_a": self.mean_a,
            "mean_b": self.mean_b,
            "n": self.n,
            "alpha": self.alpha,
            "n_bootstrap": self.n_bootstrap,
            "significant": self.significant,
        }


def paired_bootstrap(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    alpha: float = 0.05,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> PairedComparison:
    """Compare per-unit scores `a` and `b` (the same units in the same order).

    The interval is the (alpha/2, 1 - alpha/2) percentile of `n_bootstrap` replicates of
    mean(a - b), each over units drawn with replacement from `np.random.default_rng(seed)`;
    the same seed gives the same interval.
    """
    x = as_float_vector(a, "a")
    y = as_float_vector(b, "b")
    if x.shape != y.shape:
        raise ValueError(
            f"a and b must score the same units: got {x.shape[0]} and {y.shape[0]} values"
        )
    if x.shape[0] < 2:
        raise ValueError(f"a paired bootstrap needs at least 2 units, got {x.shape[0]}")
    found = bootstrap_interval(
        RoundTerms(base=x - y), alpha=alpha, n_bootstrap=n_bootstrap, seed=seed
    )
    return PairedComparison(
        difference=found.mean,
        lower=found.lower,
        upper=found.upper,
        mean_a=float(x.mean()),
        mean_b=float(y.mean()),
        n=int(x.shape[0]),
        alpha=found.alpha,
        n_bootstrap=found.n_bootstrap,
    )
