"""Mean ± sample standard deviation over training seeds, as the benchmark tables print it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """The mean and the sample standard deviation (0 for a single value)."""
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return float(np.mean(values)), sd


def mean_sd_cell(mean: float, sd: float, n: int, digits: int = 4, sign: str = "") -> str:
    """`mean` for one value, `mean ± sd` for several; sign "+" prints the mean's sign."""
    if n == 1:
        return f"{mean:{sign}.{digits}f}"
    return f"{mean:{sign}.{digits}f} ± {sd:.{digits}f}"


def mean_sd_text(values: Sequence[float], digits: int = 4, sign: str = "") -> str:
    return mean_sd_cell(*mean_sd(values), len(values), digits, sign)


def t_interval(differences: Sequence[float], alpha: float = 0.05) -> tuple[float, float, float]:
    """The mean of paired per-seed differences and its (1 - alpha) Student t interval over
    the seeds: the interval that counts training-seed variance (a bootstrap over users or
    queries within one seed does not). Needs at least 2 seeds."""
    from scipy import stats

    if len(differences) < 2:
        raise ValueError("a t interval over seeds needs at least 2 seeds")
    values = np.asarray(differences, dtype=np.float64)
    mean = float(values.mean())
    half = float(
        stats.t.ppf(1 - alpha / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size)
    )
    return mean, mean - half, mean + half


def t_interval_text(differences: Sequence[float], digits: int = 4) -> str:
    """`+0.0123 [+0.0050, +0.0190]`: the mean difference over seeds and its 95% t interval."""
    mean, lower, upper = t_interval(differences)
    return f"{mean:+.{digits}f} [{lower:+.{digits}f}, {upper:+.{digits}f}]"


def t_interval_verdict(differences: Sequence[float], digits: int = 4) -> tuple[str, bool]:
    """`t_interval_text` and whether that interval excludes 0 (from its unrounded bounds):
    the cells of a "Δ over seeds | sig. at 95%" pair."""
    _, lower, upper = t_interval(differences)
    return t_interval_text(differences, digits), bool(lower > 0 or upper < 0)
