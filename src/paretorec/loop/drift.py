"""Drift watch: the population stability index of live distributions against the
training window's.

PSI = sum over bins of (p_live - p_ref) * ln(p_live / p_ref), with each share floored at
`EPSILON` so an empty bin stays finite. The usual reading: below 0.1 stable, 0.1 to 0.25
moving, above 0.25 (`WARNING`) shifted. A numeric feature is binned at its reference
deciles (values beyond the ends fall into the end bins); a categorical one by its
reference levels plus one bin for anything unseen.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["EPSILON", "WARNING", "DriftMonitor", "DriftReference", "psi"]

FloatArray = NDArray[np.float64]
EPSILON = 1e-4
WARNING = 0.25
OTHER = "(other)"


def psi(reference: ArrayLike, live: ArrayLike, *, epsilon: float = EPSILON) -> float:
    """PSI of two histograms over the same bins (counts or shares)."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(live, dtype=np.float64)
    if ref.shape != cur.shape or ref.ndim != 1 or ref.size < 2:
        raise ValueError(
            f"psi needs two histograms of the same >= 2 bins, got {ref.shape} and {cur.shape}"
        )
    if (ref < 0).any() or (cur < 0).any() or ref.sum() <= 0 or cur.sum() <= 0:
        raise ValueError("psi needs non-negative histograms with some mass")
    p = np.maximum(ref / ref.sum(), epsilon)
    q = np.maximum(cur / cur.sum(), epsilon)
    return float(((q - p) * np.log(q / p)).sum())


@dataclass(frozen=True)
class DriftReference:
    """One feature's bins and reference histogram: numeric (`edges`, inner cut points)
    or categorical (`levels`, with a last bin for unseen values)."""

    name: str
    counts: tuple[float, ...]
    edges: tuple[float, ...] = ()
    levels: tuple[str, ...] = ()

    @classmethod
    def numeric(cls, name: str, values: ArrayLike, *, bins: int = 10) -> DriftReference:
        x = np.asarray(values, dtype=np.float64)
        x = x[np.isfinite(x)]
        if x.size == 0:
            raise ValueError(f"{name}: no finite reference values")
        edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1]))
        counts = np.bincount(np.searchsorted(edges, x, side="right"), minlength=edges.size + 1)
        return cls(name, tuple(float(c) for c in counts), edges=tuple(float(e) for e in edges))

    @classmethod
    def categorical(cls, name: str, values: Iterable[object]) -> DriftReference:
        seen = ["" if v is None else str(v) for v in values]
        if not seen:
            raise ValueError(f"{name}: no reference values")
        levels = tuple(sorted(set(seen)))
        index = {level: i for i, level in enumerate(levels)}
        counts = np.bincount([index[v] for v in seen], minlength=len(levels) + 1)
        return cls(name, tuple(float(c) for c in counts), levels=levels)

    @property
    def n_bins(self) -> int:
        return len(self.counts)

    def bin_of(self, values: Sequence[object]) -> NDArray[np.int64]:
        if self.levels:
            index = {level: i for i, level in enumerate(self.levels)}
            other = len(self.levels)
            return np.asarray(
                [index.get("" if v is None else str(v), other) for v in values], dtype=np.int64
            )
        x = np.asarray(values, dtype=np.float64)
        return np.searchsorted(np.asarray(self.edges), x, side="right").astype(np.int64)


class DriftMonitor:
    """Live histograms of the referenced features; `psi()` of each against its
    reference once `min_count` live values arrived (None before). Thread-safe."""

    def __init__(self, references: Sequence[DriftReference], *, min_count: int = 100) -> None:
        names = [r.name for r in references]
        if len(set(names)) != len(names):
            raise ValueError(f"drift features repeat: {names}")
        self.references = {r.name: r for r in references}
        self.min_count = min_count
        self._live = {r.name: np.zeros(r.n_bins) for r in references}
        self._lock = threading.Lock()

    def observe(self, name: str, values: Sequence[object]) -> None:
        reference = self.references.get(name)
        if reference is None or not len(values):
            return
        bins = reference.bin_of(values)
        if not reference.levels:
            bins = bins[np.isfinite(np.asarray(values, dtype=np.float64))]
        with self._lock:
            self._live[name] += np.bincount(bins, minlength=reference.n_bins)

    def psi(self) -> Mapping[str, float | None]:
        with self._lock:
            live = {k: v.copy() for k, v in self._live.items()}
        return {
            name: psi(ref.counts, live[name]) if live[name].sum() >= self.min_count else None
            for name, ref in self.references.items()
        }

    def reset(self) -> None:
        with self._lock:
            for values in self._live.values():
                values[:] = 0
