"""Amortized fairness of exposure across requests, kept online by a controller.

Singh & Joachims (2018), amortized as in Biega et al. (2018): over many lists, each
group's share of the attention the lists give (exposure, position weights
1 / log2(1 + position)) should follow its share of merit (here, the candidates' relevance:
their first-stage score as a share of the request's best). One list cannot be fair to
every group; the running totals can. The controller keeps each group's merit and exposure
(exponentially forgotten with a half-life in requests, so it follows today's traffic)
and, per request, adds to each candidate's score `strength` times the spread of the
request's scores times its group's control signal: the relative deficit (merit share
minus exposure share, over the merit share, in [-1, 1]: 1 for a group never shown) plus
`integral` times the relative deficits summed over the requests so far (a PI controller:
the summed part keeps growing while a gap persists, so the gap closes instead of
settling where the bonus just balances the score difference). Relative, so that a small
group's gap weighs as much as a large one's however many groups there are. The bonus is reported as the
item's ``fairness`` contribution, so explanations still add up to the score.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from paretorec.objectives.kernels import position_discount

__all__ = ["ExposureController", "GroupExposure"]

FloatArray = NDArray[np.float64]
NONE_GROUP = "(none)"


@dataclass(frozen=True)
class GroupExposure:
    group: str
    merit_share: float
    exposure_share: float

    @property
    def ratio(self) -> float:
        """Exposure share over merit share (1: exposed as it merits)."""
        return self.exposure_share / self.merit_share if self.merit_share > 0 else math.inf


class ExposureController:
    """Running merit and exposure per group, and the score bonus that closes the gap."""

    def __init__(
        self,
        *,
        field: str,
        strength: float = 1.0,
        integral: float = 0.1,
        half_life: float | None = None,
    ):
        if not math.isfinite(strength) or strength < 0:
            raise ValueError(f"strength must be a finite number >= 0, got {strength}")
        if not math.isfinite(integral) or integral < 0:
            raise ValueError(f"integral must be a finite number >= 0, got {integral}")
        if half_life is not None and not half_life > 0:
            raise ValueError(f"half_life must be > 0 requests, got {half_life}")
        self.field = field
        self.strength = strength
        self.integral = integral
        self._summed: dict[str, float] = {}  # each group's deficits, summed over requests
        self.keep = 1.0 if half_life is None else 0.5 ** (1.0 / half_life)
        self._merit: dict[str, float] = {}
        self._exposure: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _names(groups: Sequence[object]) -> list[str]:
        return [NONE_GROUP if g is None else str(g) for g in groups]

    def _deficit(self, group: str) -> float:
        merit_total = sum(self._merit.values())
        exposure_total = sum(self._exposure.values())
        merit = self._merit.get(group, 0.0) / merit_total if merit_total > 0 else 0.0
        if merit <= 0 or exposure_total <= 0:
            return 0.0
        exposure = self._exposure.get(group, 0.0) / exposure_total
        return max(-1.0, (merit - exposure) / merit)

    def deficits(self, groups: Sequence[object]) -> FloatArray:
        """Each candidate's group's relative deficit (see the module docstring; 0 before
        any traffic, and for a group never seen)."""
        with self._lock:
            return np.asarray([self._deficit(g) for g in self._names(groups)])

    def signal(self, groups: Sequence[object]) -> FloatArray:
        """Each candidate's control signal: deficit plus `integral` times summed deficits."""
        with self._lock:
            return np.asarray(
                [
                    self._deficit(g) + self.integral * self._summed.get(g, 0.0)
                    for g in self._names(groups)
                ]
            )

    def bonus(self, groups: Sequence[object], scores: FloatArray) -> FloatArray:
        """The score adjustment of each candidate (see the module docstring)."""
        scores = np.asarray(scores, dtype=np.float64)
        spread = float(scores.max() - scores.min()) if scores.size > 1 else 1.0
        out: FloatArray = self.strength * max(spread, 1e-9) * self.signal(groups)
        return out

    def record(
        self, candidate_groups: Sequence[object], merit: FloatArray, listed_groups: Sequence[object]
    ) -> None:
        """Count one served request: its candidates' merit and its list's exposure."""
        seen = position_discount(len(listed_groups))
        with self._lock:
            for table in (self._merit, self._exposure):
                for group in table:
                    table[group] *= self.keep
            for group, value in zip(self._names(candidate_groups), merit.tolist(), strict=True):
                self._merit[group] = self._merit.get(group, 0.0) + max(value, 0.0)
            for group, weight in zip(self._names(listed_groups), seen.tolist(), strict=True):
                self._exposure[group] = self._exposure.get(group, 0.0) + weight
            for group in set(self._merit) | set(self._exposure):
                self._summed[group] = self._summed.get(group, 0.0) * self.keep + self._deficit(
                    group
                )

    def report(self) -> list[GroupExposure]:
        """Every group's merit and exposure shares so far, most merit first."""
        with self._lock:
            merit_total = sum(self._merit.values()) or 1.0
            exposure_total = sum(self._exposure.values()) or 1.0
            groups = sorted(
                set(self._merit) | set(self._exposure), key=lambda g: -self._merit.get(g, 0.0)
            )
            return [
                GroupExposure(
                    g,
                    self._merit.get(g, 0.0) / merit_total,
                    self._exposure.get(g, 0.0) / exposure_total,
                )
                for g in groups
            ]

    def total_variation(self) -> float:
        """Half the summed gaps between the exposure and merit shares: the share of all
        exposure that would have to move for exposure to follow merit (0: fair)."""
        return 0.5 * sum(abs(g.exposure_share - g.merit_share) for g in self.report())

    def disparate_exposure(self, top: int | None = None) -> float:
        """The largest over the smallest exposure/merit ratio among groups with merit (the
        `top` with the most merit, all without it); 1: each exposed in proportion to its
        merit."""
        groups = [g for g in self.report() if g.merit_share > 0]
        ratios = [g.ratio for g in (groups if top is None else groups[:top])]
        if len(ratios) < 2 or min(ratios) <= 0:
            return math.inf if ratios and min(ratios) <= 0 else 1.0
        return max(ratios) / min(ratios)
