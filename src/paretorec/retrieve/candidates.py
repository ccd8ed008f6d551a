"""`Candidates`: what every retriever returns, best first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

__all__ = ["Candidates"]


_T = TypeVar("_T", bound=np.generic)


def _frozen(array: NDArray[_T]) -> NDArray[_T]:
    array = np.array(array, copy=True)
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class Candidates:
    """Retrieved items, best first.

    - `item_ids`: the items' ids (the data contract's ``item_id``).
    - `indices`: each item's position in the retriever's item table: its row in the catalog
      the index was built from, then items added later in the order they came. An update
      keeps an item's position, and positions never change, not even at `compact()`.
    - `scores`: the retriever's score, non-increasing down the list (ties broken by the
      smaller index).
    - `components`: each contributing retriever's own score of each item, by name
      (``"lexical"``, ``"dense"``), NaN where that retriever did not return the item; a
      single retriever's result has one component equal to `scores`.
    """

    item_ids: tuple[str, ...]
    indices: NDArray[np.int64]
    scores: NDArray[np.float64]
    components: Mapping[str, NDArray[np.float64]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.item_ids)
        indices = np.asarray(self.indices, dtype=np.int64)
        scores = np.asarray(self.scores, dtype=np.float64)
        if indices.shape != (n,) or scores.shape != (n,):
            raise ValueError(
                f"item_ids, indices and scores must be 1-D of one length, got {n}, "
                f"{indices.shape} and {scores.shape}"
            )
        if np.isnan(scores).any():
            raise ValueError("scores holds NaN")
        if n > 1 and (np.diff(scores) > 0).any():
            raise ValueError("scores must be non-increasing (best first)")
        components: dict[str, NDArray[np.float64]] = {}
        for name, values in self.components.items():
            array = np.asarray(values, dtype=np.float64)
            if array.shape != (n,):
                raise ValueError(f"component {name!r} has shape {array.shape}, expected ({n},)")
            components[name] = _frozen(array)
        object.__setattr__(self, "item_ids", tuple(self.item_ids))
        object.__setattr__(self, "indices", _frozen(indices))
        object.__setattr__(self, "scores", _frozen(scores))
        object.__setattr__(self, "components", MappingProxyType(components))

    def __len__(self) -> int:
        return len(self.item_ids)

    @classmethod
    def empty(cls, components: tuple[str, ...] = ()) -> Candidates:
        """No items (with the named components, empty)."""
        nothing = np.zeros(0, dtype=np.float64)
        return cls((), np.zeros(0, dtype=np.int64), nothing, dict.fromkeys(components, nothing))

    def top(self, k: int) -> Candidates:
        """The first `k` items."""
        return Candidates(
            self.item_ids[:k],
            self.indices[:k],
            self.scores[:k],
            {name: values[:k] for name, values in self.components.items()},
        )
