"""Fusing ranked lists from several retrievers into one.

Items are matched by `item_id`. Two pure functions, and two small configs that apply them to
a lexical and a dense list with one `weight` (the lexical share, dense gets ``1 - weight``):

- `reciprocal_rank_fusion`: ``score(i) = sum_r w_r / (k_rrf + rank_r(i))``, rank 1-based,
  a list that lacks the item adds nothing. `ReciprocalRankFusion` uses ``w = 2 * weight`` and
  ``2 * (1 - weight)``, so the default weight 0.5 is the classic unweighted RRF (Cormack et
  al. 2009) with ``k_rrf = 60``.
- `score_fusion`: each list's scores normalized over that list, then
  ``score(i) = sum_r w_r * norm_r(i)``. Min-max: ``(s - min) / (max - min)``, all 1 when the
  list's scores are equal; z-score: ``(s - mean) / std`` (population std), all 0 when
  equal. An item a list lacks takes that list's floor: 0 for min-max, the list's lowest z
  for z-score.

The result lists every item of any input, best first (ties by smaller index), cut to `k`
when given; its `components` hold each input's raw score (NaN where it lacks the item).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from paretorec.retrieve.candidates import Candidates

__all__ = [
    "Fusion",
    "Normalization",
    "ReciprocalRankFusion",
    "ScoreFusion",
    "reciprocal_rank_fusion",
    "score_fusion",
]

LEXICAL = "lexical"
DENSE = "dense"


class Normalization(StrEnum):
    MINMAX = "minmax"
    ZSCORE = "zscore"


def _check_weight(weight: float) -> None:
    if isinstance(weight, bool) or not (0.0 <= weight <= 1.0):
        raise ValueError(f"weight must lie in [0, 1], got {weight!r}")


def _weights(
    runs: Mapping[str, Candidates], weights: Mapping[str, float] | None
) -> dict[str, float]:
    if not runs:
        raise ValueError("nothing to fuse: no runs")
    if weights is None:
        return dict.fromkeys(runs, 1.0)
    if set(weights) != set(runs):
        raise ValueError(f"weights name {sorted(weights)} but the runs are {sorted(runs)}")
    for name, w in weights.items():
        if not np.isfinite(w) or w < 0:
            raise ValueError(f"weight of {name!r} must be a finite number >= 0, got {w}")
    return dict(weights)


TIE_TOLERANCE = 1e-6  # relative: float32 keeps about 7 significant digits


class _Union:
    """Every item of the runs, in first-seen order, with each run's rows."""

    def __init__(self, runs: Mapping[str, Candidates]) -> None:
        self.ids: list[str] = []
        indices: list[int] = []
        row: dict[str, int] = {}
        self.rows: dict[str, NDArray[np.int64]] = {}
        for name, run in runs.items():
            positions = []
            for item_id, index in zip(run.item_ids, run.indices.tolist(), strict=True):
                r = row.get(item_id)
                if r is None:
                    r = row[item_id] = len(self.ids)
                    self.ids.append(item_id)
                    indices.append(index)
                elif indices[r] != index:
                    raise ValueError(
                        f"item {item_id!r} has index {indices[r]} in one run and {index} in "
                        f"{name!r}: the retrievers do not share one item table"
                    )
                positions.append(r)
            self.rows[name] = np.asarray(positions, dtype=np.int64)
        self.indices = np.asarray(indices, dtype=np.int64)

    def spread(self, name: str, values: NDArray[np.float64], fill: float) -> NDArray[np.float64]:
        out = np.full(len(self.ids), fill, dtype=np.float64)
        out[self.rows[name]] = values
        return out

    def result(
        self, runs: Mapping[str, Candidates], fused: NDArray[np.float64], k: int | None
    ) -> Candidates:
        order = np.lexsort((self.indices, -fused))
        if k is not None:
            order = order[:k]
        components = {
            name: self.spread(name, run.scores, np.nan)[order] for name, run in runs.items()
        }
        return Candidates(
            tuple(self.ids[i] for i in order.tolist()),
            self.indices[order],
            fused[order],
            components,
        )


def reciprocal_rank_fusion(
    runs: Mapping[str, Candidates],
    *,
    weights: Mapping[str, float] | None = None,
    k_rrf: int = 60,
    k: int | None = None,
) -> Candidates:
    """``sum_r w_r / (k_rrf + rank_r)`` over the runs (weights default to 1 each)."""
    if isinstance(k_rrf, bool) or not isinstance(k_rrf, int) or k_rrf < 0:
        raise ValueError(f"k_rrf must be an integer >= 0, got {k_rrf!r}")
    w = _weights(runs, weights)
    union = _Union(runs)
    fused = np.zeros(len(union.ids), dtype=np.float64)
    for name, run in runs.items():
        ranks = np.arange(1, len(run) + 1, dtype=np.float64)
        fused += union.spread(name, w[name] / (k_rrf + ranks), 0.0)
    return union.result(runs, fused, k)


def _normalized(
    scores: NDArray[np.float64], how: Normalization
) -> tuple[NDArray[np.float64], float]:
    """The normalized scores and the floor for items the list lacks."""
    if scores.size == 0:
        return scores, 0.0
    if how is Normalization.MINMAX:
        low, high = float(scores.min()), float(scores.max())
        # Scores equal up to rounding are equal: the lexical index's main part stores
        # float32 scores and its part for new items float64, so a new copy of an item
        # differs from it by ~1e-8, which min-max would stretch into 1 against 0.
        if high - low <= TIE_TOLERANCE * max(abs(high), abs(low)):
            return np.ones_like(scores), 0.0
        return (scores - low) / (high - low), 0.0
    std = float(scores.std())
    if std <= TIE_TOLERANCE * float(np.abs(scores).max()):
        return np.zeros_like(scores), 0.0
    z = (scores - scores.mean()) / std
    return z, float(z.min())


def score_fusion(
    runs: Mapping[str, Candidates],
    *,
    weights: Mapping[str, float] | None = None,
    normalization: Normalization | str = Normalization.MINMAX,
    k: int | None = None,
) -> Candidates:
    """``sum_r w_r * normalized_r`` over the runs (weights default to 1 each)."""
    how = Normalization(normalization)
    w = _weights(runs, weights)
    union = _Union(runs)
    fused = np.zeros(len(union.ids), dtype=np.float64)
    for name, run in runs.items():
        values, floor = _normalized(run.scores.astype(np.float64), how)
        fused += w[name] * union.spread(name, values, floor)
    return union.result(runs, fused, k)


@dataclass(frozen=True)
class ReciprocalRankFusion:
    """RRF of a lexical and a dense list; `weight` is the lexical share (0.5: classic RRF)."""

    weight: float = 0.5
    k_rrf: int = 60

    def __post_init__(self) -> None:
        _check_weight(self.weight)
        if isinstance(self.k_rrf, bool) or not isinstance(self.k_rrf, int) or self.k_rrf < 0:
            raise ValueError(f"k_rrf must be an integer >= 0, got {self.k_rrf!r}")

    def fuse(self, lexical: Candidates, dense: Candidates, *, k: int | None = None) -> Candidates:
        return reciprocal_rank_fusion(
            {LEXICAL: lexical, DENSE: dense},
            weights={LEXICAL: 2 * self.weight, DENSE: 2 * (1 - self.weight)},
            k_rrf=self.k_rrf,
            k=k,
        )

    def with_weight(self, weight: float) -> ReciprocalRankFusion:
        return replace(self, weight=weight)


@dataclass(frozen=True)
class ScoreFusion:
    """Normalized score fusion of a lexical and a dense list; `weight` is the lexical share."""

    weight: float = 0.5
    normalization: Normalization = Normalization.MINMAX

    def __post_init__(self) -> None:
        _check_weight(self.weight)
        object.__setattr__(self, "normalization", Normalization(self.normalization))

    def fuse(self, lexical: Candidates, dense: Candidates, *, k: int | None = None) -> Candidates:
        return score_fusion(
            {LEXICAL: lexical, DENSE: dense},
            weights={LEXICAL: self.weight, DENSE: 1 - self.weight},
            normalization=self.normalization,
            k=k,
        )

    def with_weight(self, weight: float) -> ScoreFusion:
        return replace(self, weight=weight)


Fusion = ReciprocalRankFusion | ScoreFusion
