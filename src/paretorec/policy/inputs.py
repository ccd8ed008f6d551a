"""What the policy reads: a typed batch of requests, and the objective weights w.

A `PolicyInput` holds, for `n` requests of `c` candidates each: a context vector per
request (query and/or user features), a feature vector per candidate, the per-objective
predictions of a ranker as *named* columns (`predictions["click"]` of shape (n, c)), and
optional group labels per candidate (leaf, brand, seller, ...) that the list-aware policy
counts among the items already placed, so it can learn to avoid near-repeats. Weights w
are non-negative, one per objective, summing to 1 (the simplex).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class PolicyInput:
    """A batch of `n` ranking requests with `c` candidates each.

    context: (n, d_context) request features. item_features: (n, c, d_item).
    predictions: {name: (n, c)} a ranker's per-objective predictions (probabilities or
    expected values, >= 0), in a fixed column order (`prediction_names`).
    groups: (n, c, g) integer labels (-1: none, never counts as shared) or None.
    """

    context: FloatArray
    item_features: FloatArray
    predictions: Mapping[str, FloatArray]
    groups: IntArray | None = None
    prediction_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        ctx = _finite(self.context, "context", 2)
        items = _finite(self.item_features, "item_features", 3)
        n, c, _ = items.shape
        if c == 0:
            raise ValueError("a request needs at least one candidate, got zero candidates")
        if n == 0:
            raise ValueError("the batch holds no requests")
        if ctx.shape[0] != n:
            raise ValueError(f"context has {ctx.shape[0]} requests, item_features {n}")
        preds: dict[str, FloatArray] = {}
        for name, values in self.predictions.items():
            arr = _finite(values, f"predictions[{name!r}]", 2)
            if arr.shape != (n, c):
                raise ValueError(f"predictions[{name!r}] must have shape {(n, c)}, got {arr.shape}")
            if arr.size and arr.min() < 0:
                raise ValueError(f"predictions[{name!r}] must be >= 0, found {arr.min()}")
            preds[name] = arr
        object.__setattr__(self, "context", ctx)
        object.__setattr__(self, "item_features", items)
        object.__setattr__(self, "predictions", preds)
        object.__setattr__(self, "prediction_names", tuple(preds))
        if self.groups is not None:
            g = np.asarray(self.groups)
            if not np.issubdtype(g.dtype, np.integer) or g.ndim != 3 or g.shape[:2] != (n, c):
                raise ValueError(
                    f"groups must be integer labels of shape ({n}, {c}, g), got {g.dtype} {g.shape}"
                )
            object.__setattr__(self, "groups", g.astype(np.int64))

    @property
    def n_requests(self) -> int:
        return int(self.item_features.shape[0])

    @property
    def n_candidates(self) -> int:
        return int(self.item_features.shape[1])

    @property
    def n_groups(self) -> int:
        return 0 if self.groups is None else int(self.groups.shape[2])

    def prediction_matrix(self) -> FloatArray:
        """The predictions stacked in `prediction_names` order: (n, c, n_predictions)."""
        if not self.prediction_names:
            return np.zeros((self.n_requests, self.n_candidates, 0))
        return np.stack([self.predictions[k] for k in self.prediction_names], axis=2)

    def select(self, rows: IntArray) -> PolicyInput:
        """The requests at `rows`."""
        return PolicyInput(
            context=self.context[rows],
            item_features=self.item_features[rows],
            predictions={k: v[rows] for k, v in self.predictions.items()},
            groups=None if self.groups is None else self.groups[rows],
        )


def _finite(values: ArrayLike, name: str, ndim: int) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numbers: {error}") from None
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds a non-finite value")
    return arr
