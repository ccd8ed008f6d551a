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
