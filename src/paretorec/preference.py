"""The objective weights w: one type and one set of rules for every stage.

A trade-off is a point on the simplex: one non-negative weight per named objective,
summing to 1. `moo` scalarizes with it, `policy` conditions on it, `serve` reads it from
a request; all three check it here, with the same rules and the same messages:

- `check_simplex`: an array already on the simplex (a vector, or one row per request);
  `normalized`: raw non-negative weights scaled onto it;
- `Preference`: named weights, built from a request's mapping (`Preference.of`, which
  normalizes raw non-negative weights and refuses unknown names), uniform, or a row of a
  grid; `as_dict` gives them back by name;
- `simplex_grid` / `simplex_lattice`: every point with entries in steps of 1/divisions
  (the Das-Dennis lattice), the second sized to a budget; `sample_simplex`: Dirichlet
  draws for training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import comb

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "SUM_TOLERANCE",
    "Preference",
    "PreferenceError",
    "check_simplex",
    "normalized",
    "sample_simplex",
    "simplex_grid",
    "simplex_lattice",
]

FloatArray = NDArray[np.float64]

SUM_TOLERANCE = 1e-6


class PreferenceError(ValueError):
    """Weights that are not a valid trade-off (the message says why)."""


def _numbers(weights: ArrayLike) -> FloatArray:
    try:
        return np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise PreferenceError(f"weights must be numbers: {error}") from None


def check_simplex(
    weights: ArrayLike, n_objectives: int, *, n_requests: int | None = None
) -> FloatArray:
    """`weights` as float weights on the simplex: a vector (n_objectives,) as given, or,
    with `n_requests`, an (n_requests, n_objectives) array (one vector is repeated for
    every request). PreferenceError for a wrong length, a non-finite or negative weight,
    or a sum that is not 1 (within `SUM_TOLERANCE`)."""
    w = _numbers(weights)
    if n_requests is not None and w.ndim == 1 and w.shape[0] == n_objectives:
        w = np.tile(w, (n_requests, 1))
    wanted = 1 if n_requests is None else 2
    if w.ndim != wanted or w.shape[-1] != n_objectives:
        raise PreferenceError(
            f"weights must have one weight per objective ({n_objectives}), got shape {w.shape}"
        )
    if n_requests is not None and w.shape[0] != n_requests:
        raise PreferenceError(f"weights have {w.shape[0]} rows for {n_requests} requests")
    if not np.isfinite(w).all():
        raise PreferenceError(f"weights must be finite, got {w.tolist()}")
    if (w < 0).any():
        raise PreferenceError(f"weights must be non-negative, found {float(w.min()):g}")
    sums = np.atleast_1d(w.sum(axis=-1))
    worst = int(np.argmax(np.abs(sums - 1.0)))
    if abs(float(sums[worst]) - 1.0) > SUM_TOLERANCE:
        raise PreferenceError(
            f"weights must sum to 1 (the simplex), got a sum of {float(sums[worst]):g}"
        )
    return w


def normalized(weights: ArrayLike, n_objectives: int) -> FloatArray:
    """Raw non-negative weights (n_objectives,), not all 0, scaled to sum to 1."""
    raw = _numbers(weights)
    if raw.shape != (n_objectives,):
        raise PreferenceError(
            f"weights must have one weight per objective ({n_objectives}), got shape {raw.shape}"
        )
    return _normalized(raw)


def _normalized(raw: FloatArray) -> FloatArray:
    if not np.isfinite(raw).all() or (raw < 0).any():
        raise PreferenceError(f"weights must be finite and non-negative, got {raw.tolist()}")
    top = float(raw.max()) if raw.size else 0.0
    if top <= 0:
        raise PreferenceError("the weights sum to 0: give at least one objective a positive weight")
    scaled = raw / top  # first by the largest, so weights near the float limit cannot overflow
    out: FloatArray = scaled / scaled.sum()
    return out


@dataclass(frozen=True, eq=False)
class Preference:
    """Named objective weights on the simplex (`weights[i]` belongs to `names[i]`)."""

    names: tuple[str, ...]
    weights: FloatArray

    def __post_init__(self) -> None:
        if not self.names:
            raise PreferenceError("a preference needs at least one objective")
        if len(set(self.names)) != len(self.names):
            raise PreferenceError(f"objective names repeat: {list(self.names)}")
        w = check_simplex(self.weights, len(self.names))
        w.flags.writeable = False
        object.__setattr__(self, "weights", w)

    @classmethod
    def of(cls, names: Sequence[str], raw: Mapping[str, float]) -> Preference:
        """Weights by name for `names` (absent ones are 0), scaled to sum to 1; refuses
        names outside `names`, negative or non-finite weights, and an all-zero mapping."""
        names = tuple(names)
        unknown = sorted(set(raw) - set(names))
        if unknown:
            raise PreferenceError(
                f"unknown objective(s) {', '.join(map(repr, unknown))}: this model weighs "
                f"{', '.join(names)}"
            )
        values = _numbers([float(raw.get(name, 0.0)) for name in names])
        return cls(names, _normalized(values))

    @classmethod
    def uniform(cls, names: Sequence[str]) -> Preference:
        names = tuple(names)
        return cls(names, np.full(len(names), 1.0 / max(len(names), 1)))

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.names, self.weights.tolist(), strict=True))

    def __getitem__(self, name: str) -> float:
        return float(self.weights[self.names.index(name)])

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Preference)
            and self.names == other.names
            and bool(np.array_equal(self.weights, other.weights))
        )

    def __hash__(self) -> int:
        return hash((self.names, self.weights.tobytes()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={w:.3g}" for n, w in zip(self.names, self.weights, strict=True))
        return f"Preference({inner})"


def simplex_grid(n_objectives: int, divisions: int) -> FloatArray:
    """Every weight vector with entries in {0, 1/divisions, ..., 1} summing to 1 (the
    Das-Dennis lattice), in lexicographic order, first weight descending:
    C(divisions + m - 1, m - 1) rows."""
    if n_objectives < 1 or divisions < 1:
        raise PreferenceError("simplex_grid needs n_objectives >= 1 and divisions >= 1")

    def compositions(total: int, parts: int) -> list[list[int]]:
        if parts == 1:
            return [[total]]
        return [
            [k, *rest] for k in range(total, -1, -1) for rest in compositions(total - k, parts - 1)
        ]

    out: FloatArray = (
        np.asarray(compositions(divisions, n_objectives), dtype=np.float64) / divisions
    )
    return out


def simplex_lattice(n_objectives: int, budget: int) -> FloatArray:
    """The `simplex_grid` with the most divisions whose size stays within `budget`."""
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise PreferenceError(f"budget must be an integer >= 1, got {budget!r}")
    if n_objectives < 1:
        raise PreferenceError("need at least one objective")
    if n_objectives == 1:
        return np.ones((1, 1))
    if budget < n_objectives:
        raise PreferenceError(
            f"budget {budget} is below the {n_objectives} corners of the simplex lattice"
        )
    divisions = 1
    while comb(divisions + n_objectives, n_objectives - 1) <= budget:
        divisions += 1
    return simplex_grid(n_objectives, divisions)


def sample_simplex(
    rng: np.random.Generator, n: int, n_objectives: int, *, concentration: float = 1.0
) -> FloatArray:
    """`n` weight vectors drawn from Dirichlet(concentration, ..., concentration): 1 is
    uniform on the simplex; below 1 puts more of them near its corners and edges (the
    extreme trade-offs a front needs), above 1 near its centre."""
    if not (np.isfinite(concentration) and concentration > 0):
        raise PreferenceError(f"concentration must be positive, got {concentration}")
    out: FloatArray = rng.dirichlet(np.full(n_objectives, float(concentration)), size=n)
    return out
