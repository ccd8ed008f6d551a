"""`DocSlots`: which indexed document holds each item's current version.

An index has a main part, built in one go, and a delta part that takes items added or
changed since. Documents are numbered main first (``0 .. n_main-1``) then delta
(``n_main ..``). Each live item has exactly one current document; an update retires the old
one (masked from then on) and adds a new one to the delta; a removal retires it. `compact()`
on an index rebuilds main from the current documents and empties the delta.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from paretorec.retrieve.items import ItemTable

__all__ = ["DocSlots"]


class DocSlots:
    """Documents of an index and the item position each one holds (see the module docstring)."""

    def __init__(self, main_items: NDArray[np.int64]) -> None:
        self.main_items = np.asarray(main_items, dtype=np.int64)
        self.main_live = np.ones(self.main_items.size, dtype=bool)
        self.delta_items = np.zeros(0, dtype=np.int64)
        self.delta_live = np.zeros(0, dtype=bool)
        self.current: dict[int, int] = {int(p): d for d, p in enumerate(self.main_items.tolist())}
        if len(self.current) != self.main_items.size:
            raise ValueError("an item is in the main index twice")
        self._cache: tuple[NDArray[np.int64], NDArray[np.bool_]] | None = None

    @property
    def n_main(self) -> int:
        return int(self.main_items.size)

    @property
    def n_delta(self) -> int:
        """Delta documents, live or retired (what compaction clears)."""
        return int(self.delta_items.size)

    @property
    def n_live(self) -> int:
        return len(self.current)

    @property
    def main_all_live(self) -> bool:
        return bool(self.main_live.all())

    def add(self, positions: NDArray[np.int64]) -> NDArray[np.int64]:
        """New delta documents for items that have no current one; their numbers."""
        start = self.n_main + self.n_delta
        numbers = np.arange(start, start + positions.size, dtype=np.int64)
        for p, d in zip(positions.tolist(), numbers.tolist(), strict=True):
            if p in self.current:
                raise ValueError(f"item position {p} already has a document")
            self.current[p] = d
        self.delta_items = np.concatenate([self.delta_items, positions.astype(np.int64)])
        self.delta_live = np.concatenate([self.delta_live, np.ones(positions.size, dtype=bool)])
        self._cache = None
        return numbers

    def retire(self, positions: NDArray[np.int64]) -> None:
        """Mask the current documents of these items (each must have one)."""
        for p in positions.tolist():
            d = self.current.pop(p)
            if d < self.n_main:
                self.main_live[d] = False
            else:
                self.delta_live[d - self.n_main] = False
        self._cache = None

    def doc_items(self) -> NDArray[np.int64]:
        """The item position of every document, main then delta."""
        return self._arrays()[0]

    def live(self) -> NDArray[np.bool_]:
        """Whether each document, main then delta, is its item's current one."""
        return self._arrays()[1]

    def _arrays(self) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        if self._cache is None:
            self._cache = (
                np.concatenate([self.main_items, self.delta_items]),
                np.concatenate([self.main_live, self.delta_live]),
            )
        return self._cache

    def current_positions(self) -> NDArray[np.int64]:
        """Items that have a current document, by ascending position."""
        return np.asarray(sorted(self.current), dtype=np.int64)

    def live_delta(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """The live delta documents' offsets in the delta part and their item positions."""
        offsets = np.flatnonzero(self.delta_live).astype(np.int64)
        return offsets, self.delta_items[offsets]


class SlottedIndex:
    """What the lexical and dense indexes share about their items: ids by position, how
    many can be found, membership, and the size of the delta part."""

    _items: ItemTable
    _slots: DocSlots

    @property
    def item_ids(self) -> list[str]:
        """Item ids by position (removed items included: see `Candidates.indices`)."""
        return list(self._items.ids)

    def positions(self, item_ids: Iterable[str]) -> NDArray[np.int64]:
        """The items' positions (removed items' included); ValueError for an unknown id."""
        return self._items.positions(item_ids, alive=False)

    def __len__(self) -> int:
        """Items that can be found."""
        return self._items.n_alive

    def __contains__(self, item_id: object) -> bool:
        p = self._items.position.get(item_id) if isinstance(item_id, str) else None
        return p is not None and bool(self._items.alive[p])

    @property
    def n_delta(self) -> int:
        """Entries in the delta part, live or retired."""
        return self._slots.n_delta
