"""Shared pieces of the off-policy estimators: checked inputs, round terms, intervals.

Every estimator reduces a log to per-round terms of one shape,

    V_hat = mean_i(base_i) + sum_i(correction_i) / sum_i(norm_i),

(the ratio part only for the self-normalized estimators), so that the point estimate and
its bootstrap replicates are computed by the same code: a replicate draws rounds (or
slates) with replacement and recomputes both the mean and the ratio on the draw, which is
the right bootstrap for a self-normalized estimator too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# How far a distribution's sum may be from 1 (obp uses np.allclose: about 1e-5).
SUM_TOLERANCE = 1e-6
# Bootstrap replicates are drawn in chunks of at most this many indices.
_CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class PolicyValueInterval:
    """A policy value with its (1 - alpha) percentile-bootstrap confidence interval.

    `mean` is the estimator's point estimate on the whole log (obp reports the mean of
    the bootstrap replicates under that name instead; the two differ by bootstrap noise);
    `standard_error` is the standard deviation of the replicates.
    """

    mean: float
    lower: float
    upper: float
    standard_error: float
    alpha: float
    n_bootstrap: int

    def __contains__(self, value: float) -> bool:
        return self.lower <= value <= self.upper


@dataclass(frozen=True)
class RoundTerms:
    """Per-round (or per-slate) pieces of an estimate: mean(base) + sum(correction) /
    sum(norm), the second part only when `correction` is given."""

    base: FloatArray
    correction: FloatArray | None = None
    norm: FloatArray | None = None

    def value(self) -> float:
        out = float(self.base.mean())
        if self.correction is not None and self.norm is not None:
            total = float(self.norm.sum())
            if total <= 0:
                raise ValueError(
                    "the importance weights sum to 0: the evaluation policy gives no "
                    "probability to any logged action, so self-normalization is undefined"
                )
            out += float(self.correction.sum()) / total
        return out

    def resampled(self, index: npt.NDArray[np.integer]) -> FloatArray:
        """The value on each row of bootstrap indices `index` (replicates, n); a replicate
        whose weights sum to 0 gets no self-normalized part."""
        values: FloatArray = self.base[index].mean(axis=1)
        if self.correction is not None and self.norm is not None:
            norm = self.norm[index].sum(axis=1)
            corr = self.correction[index].sum(axis=1)
            values = values + np.divide(corr, norm, out=np.zeros_like(norm), where=norm > 0)
        return values


def check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    return int(seed)


def bootstrap_interval(
    terms: RoundTerms, *, alpha: float, n_bootstrap: int, seed: int
) -> PolicyValueInterval:
    """The percentile bootstrap interval of `terms.value()`: `n_bootstrap` replicates,
    each drawing the rounds with replacement from `np.random.default_rng(seed)`."""
    if isinstance(alpha, bool) or not isinstance(alpha, float | int) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1), got {alpha!r}")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int | np.integer):
        raise ValueError(f"n_bootstrap must be an integer, got {n_bootstrap!r}")
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be at least 1, got {n_bootstrap}")
    rng = np.random.default_rng(check_seed(seed))
    estimate = terms.value()
    n = terms.base.shape[0]
    replicates = np.empty(int(n_bootstrap))
    chunk = max(1, _CHUNK_CELLS // max(n, 1))
    for lo in range(0, int(n_bootstrap), chunk):
        size = min(chunk, int(n_bootstrap) - lo)
        replicates[lo : lo + size] = terms.resampled(rng.integers(0, n, size=(size, n)))
    lower, upper = np.percentile(replicates, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    se = float(replicates.std(ddof=1)) if n_bootstrap > 1 else math.nan
    return PolicyValueInterval(
        mean=estimate,
        lower=float(lower),
        upper=float(upper),
        standard_error=se,
        alpha=float(alpha),
        n_bootstrap=int(n_bootstrap),
    )


# ------------------------------------------------------------------------- input checks


def as_float_vector(values: npt.ArrayLike, name: str) -> FloatArray:
    """A 1-d float64 array without NaN or infinity, or a ValueError naming `name`."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    if arr.dtype != np.bool_ and not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    out = arr.astype(np.float64)
    bad = ~np.isfinite(out)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} must be finite: {name}[{i}] is {out[i]}")
    return out


def as_index_vector(values: npt.ArrayLike, name: str, upper: int, what: str) -> IntArray:
    """A 1-d int64 array of values in 0..upper - 1, or a ValueError naming `name`."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
    out = arr.astype(np.int64)
    if out.size and (out.min() < 0 or out.max() >= upper):
        i = int(np.argmax((out < 0) | (out >= upper)))
        raise ValueError(f"{name}[{i}] = {out[i]} is outside 0..{upper - 1} ({what})")
    return out


def as_probabilities(values: npt.ArrayLike, name: str) -> FloatArray:
    """A 1-d float64 array of probabilities in (0, 1] (a logging propensity)."""
    out = as_float_vector(values, name)
    bad = (out <= 0) | (out > 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} must be in (0, 1]: {name}[{i}] is {out[i]}")
    return out


def as_probabilities_or_zero(values: npt.ArrayLike, name: str) -> FloatArray:
    """A 1-d float64 array of probabilities in [0, 1] (an evaluation policy's)."""
    out = as_float_vector(values, name)
    bad = (out < 0) | (out > 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} must be in [0, 1]: {name}[{i}] is {out[i]}")
    return out


def as_action_dist(values: npt.ArrayLike) -> FloatArray:
    """The evaluation policy's (n_rounds, n_actions, len_list) distribution, checked."""
    arr = np.asarray(values)
    if arr.ndim != 3:
        raise ValueError(
            f"action_dist must have shape (n_rounds, n_actions, len_list), got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"action_dist must be numeric, got dtype {arr.dtype}")
    out = np.asarray(arr, dtype=np.float64)
    if out.shape[0] == 0:
        raise ValueError("the log is empty: action_dist has no rounds")
    if out.size == 0:
        raise ValueError(f"action_dist has shape {out.shape}: no actions or no positions")
    lo, hi = float(out.min()), float(out.max())  # NaN propagates into both
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("action_dist must be finite")
    if lo < 0 or hi > 1:
        raise ValueError("action_dist must hold probabilities in [0, 1]")
    sums = np.matmul(np.ones(out.shape[1]), out)  # the sum over actions, (n, len_list); fast
    off = np.abs(sums - 1.0) > SUM_TOLERANCE
    if off.any():
        i, k = (int(v) for v in np.argwhere(off)[0])
        raise ValueError(
            f"action_dist[{i}, :, {k}] sums to {sums[i, k]:.9g}, not 1: each round's "
            "distribution over actions at each position must sum to 1"
        )
    return out


def check_nonnegative_number(value: float, name: str, *, positive: bool = False) -> float:
    """A hyperparameter that is a real number >= 0 (> 0 with `positive`), inf allowed."""
    if isinstance(value, bool) or not isinstance(value, float | int | np.floating | np.integer):
        raise ValueError(f"{name} must be a number, got {value!r}")
    out = float(value)
    if math.isnan(out):
        raise ValueError(f"{name} must not be NaN")
    if out < 0 or (positive and out == 0):
        bound = "positive" if positive else "at least 0"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return out
