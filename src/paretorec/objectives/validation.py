"""Argument checks shared by the objectives and the evaluation metrics.

Each turns a bad input into a `ValueError` that names the argument and what is wrong, so
no metric or reward ever returns a silent NaN.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatVector = NDArray[np.float64]
IntVector = NDArray[np.int64]


def float_array(values: ArrayLike, name: str, *, ndim: int = 1) -> NDArray[np.float64]:
    """`values` as a float64 array of `ndim` dimensions with only finite numbers."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numbers: {error}") from None
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {array.shape}")
    if not np.isfinite(array).all():
        bad = np.flatnonzero(~np.isfinite(array.ravel()))[0]
        raise ValueError(
            f"{name} holds a non-finite value ({array.ravel()[bad]}) at flat index {bad}"
        )
    return array


def nonnegative(array: NDArray[np.float64], name: str) -> NDArray[np.float64]:
    if array.size and array.min() < 0:
        raise ValueError(f"{name} must be >= 0, found {array.min()}")
    return array


def probabilities(array: NDArray[np.float64], name: str) -> NDArray[np.float64]:
    if array.size and (array.min() < 0 or array.max() > 1):
        raise ValueError(f"{name} must lie in [0, 1], found [{array.min()}, {array.max()}]")
    return array


def int_array(values: ArrayLike, name: str, *, ndim: int = 1) -> NDArray[np.int64]:
    """`values` as an int64 array of `ndim` dimensions (integer dtypes only, no floats)."""
    array = np.asarray(values)
    if array.size == 0 and array.dtype == np.float64:  # np.asarray([]) is float
        array = array.astype(np.int64)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integer indices, got dtype {array.dtype}")
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {array.shape}")
    return array.astype(np.int64, copy=False)


def check_k(k: int, *, length: int, what: str = "the list") -> int:
    """A cut-off K with 1 <= K <= length."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ValueError(f"k must be an integer, got {k!r}")
    if k <= 0:
        raise ValueError(f"k must be >= 1, got {k}")
    if k > length:
        raise ValueError(f"k={k} is larger than {what} ({length} items)")
    return int(k)


def ranking(items: ArrayLike, *, n_candidates: int) -> IntVector:
    """A ranked list: a non-empty 1-D array of distinct indices in [0, n_candidates)."""
    array = int_array(items, "ranking")
    if array.size == 0:
        raise ValueError("ranking is empty")
    if array.min() < 0 or array.max() >= n_candidates:
        raise ValueError(
            f"ranking indices must lie in [0, {n_candidates}), found [{array.min()}, {array.max()}]"
        )
    if np.unique(array).size != array.size:
        raise ValueError("ranking lists an item more than once")
    return array
