"""The "sig. at 95%" cell of the benchmark tables: whether a paired 95% interval excludes 0.

Runs store it from the interval's unrounded bounds (`PairedComparison.significant`); for a
result stored before that, it is read back from the printed interval `d [lower, upper]`,
which cannot tell when the bound nearest 0 prints as 0.0000: that cell is `?`.
"""

from __future__ import annotations

import re

SIG = "sig. at 95%"
SIG_NOTE = (
    f"*{SIG}*: the paired 95% interval excludes 0 (`?`: a bound prints as 0.0000 and the"
    " stored result keeps only the printed interval)."
)
_INTERVAL = re.compile(r"[+-]\d+\.\d+ \[([+-]\d+\.\d+), ([+-]\d+\.\d+)\]")


def yes_no(significant: bool) -> str:
    return "yes" if significant else "no"


def interval_significance(text: object) -> str:
    """`yes` when a printed interval `d [lower, upper]` excludes 0, `no` when it holds 0,
    empty for a cell with no interval (a baseline), `?` when the bound nearest 0 prints as
    0.0000 on the side that would exclude it (+0.0000 below, -0.0000 above)."""
    found = _INTERVAL.fullmatch(str(text).strip())
    if found is None:
        return ""
    lower, upper = found.groups()
    if float(lower) > 0 or float(upper) < 0:
        return "yes"
    if (float(lower) == 0 and lower[0] == "+") or (float(upper) == 0 and upper[0] == "-"):
        return "?"
    return "no"
