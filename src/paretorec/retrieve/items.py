"""`ItemTable`: a retriever's items by position, with what filters read.

Positions are stable: the catalog's rows first, then items added later in order. An update
keeps the position; a removed item keeps its position (dead) and, if added again, takes it
back. Masks for a `Filters` are cached until the table changes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import polars as pl
from numpy.typing import NDArray

from paretorec.retrieve.filters import Filters, normalize_brand, normalize_category
from paretorec.retrieve.storage import read_json, read_npy, write_json, write_npy
from paretorec.types import Catalog

__all__ = ["ItemTable"]

_CACHE_SIZE = 16


class _Codes:
    """Strings by small integer code (-1: none), for fast masks over a few distinct values."""

    def __init__(self, values: Sequence[str] = ()) -> None:
        self.values: list[str] = list(values)
        self.lookup = {value: code for code, value in enumerate(self.values)}

    def encode(self, values: Iterable[str | None]) -> NDArray[np.int32]:
        codes = []
        for value in values:
            if value is None:
                codes.append(-1)
                continue
            code = self.lookup.get(value)
            if code is None:
                code = len(self.values)
                self.values.append(value)
                self.lookup[value] = code
            codes.append(code)
        return np.asarray(codes, dtype=np.int32)


def _column(frame: pl.DataFrame, name: str) -> list[str | None]:
    if name not in frame.columns:
        return [None] * frame.height
    return [None if v is None else str(v) for v in frame[name].cast(pl.String).to_list()]


def _numbers(frame: pl.DataFrame, name: str) -> NDArray[np.float64]:
    if name not in frame.columns:
        return np.full(frame.height, np.nan)
    return frame[name].cast(pl.Float64).fill_null(np.nan).to_numpy().astype(np.float64)


def item_ids_of(catalog: Catalog) -> list[str]:
    """The catalog's item ids, checked: strings, none empty, none twice."""
    ids = catalog.frame["item_id"].cast(pl.String).to_list()
    if any(i is None or i == "" for i in ids):
        raise ValueError("an item_id is empty")
    if len(set(ids)) != len(ids):
        raise ValueError("an item_id appears twice in the catalog")
    return [str(i) for i in ids]


class ItemTable:
    """Item ids and filter attributes by position (see the module docstring)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.position: dict[str, int] = {}
        self.alive = np.zeros(0, dtype=bool)
        self._categories = _Codes()
        self._brands = _Codes()
        self.category_code = np.zeros(0, dtype=np.int32)
        self.brand_code = np.zeros(0, dtype=np.int32)
        self.price = np.zeros(0, dtype=np.float64)
        self.stock = np.zeros(0, dtype=np.float64)
        self._masks: dict[Filters, NDArray[np.bool_]] = {}
        # `mask` runs under the service's read lock, so requests fill the cache at once:
        # its eviction and insert take this lock (reads stay lock-free: a dict get is atomic)
        self._masks_lock = threading.Lock()

    def __getstate__(self) -> dict[str, object]:
        # a lock cannot be pickled (Ray ships indexes to its workers): send the table
        # without it or the cached masks, and give the copy fresh ones
        state = dict(self.__dict__)
        del state["_masks_lock"]
        state["_masks"] = {}
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._masks_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_alive(self) -> int:
        return int(self.alive.sum())

    def positions(self, item_ids: Iterable[str], *, alive: bool = True) -> NDArray[np.int64]:
        """Positions of these ids; each must be in the table (and alive, unless told)."""
        if isinstance(item_ids, str | bytes):
            raise ValueError("item_ids must be a collection of ids, not one string")
        out = []
        for item_id in item_ids:
            p = self.position.get(item_id)
            if p is None or (alive and not self.alive[p]):
                raise ValueError(f"item {item_id!r} is not in the index")
            out.append(p)
        if len(set(out)) != len(out):
            raise ValueError("an item_id appears twice")
        return np.asarray(out, dtype=np.int64)

    # ------------------------------------------------------------ changes

    def add(self, catalog: Catalog) -> NDArray[np.int64]:
        """Add the catalog's items (none may be alive here already); their positions."""
        ids = item_ids_of(catalog)
        for item_id in ids:
            p = self.position.get(item_id)
            if p is not None and self.alive[p]:
                raise ValueError(f"item {item_id!r} is already in the index (update it instead)")
        new = [i for i in ids if i not in self.position]
        start = len(self.ids)
        for offset, item_id in enumerate(new):
            self.position[item_id] = start + offset
        self.ids.extend(new)
        grow = len(new)
        self.alive = np.concatenate([self.alive, np.zeros(grow, dtype=bool)])
        self.category_code = np.concatenate([self.category_code, np.full(grow, -1, np.int32)])
        self.brand_code = np.concatenate([self.brand_code, np.full(grow, -1, np.int32)])
        self.price = np.concatenate([self.price, np.full(grow, np.nan)])
        self.stock = np.concatenate([self.stock, np.full(grow, np.nan)])
        positions = np.asarray([self.position[i] for i in ids], dtype=np.int64)
        self._write(positions, catalog.frame)
        return positions

    def update(self, catalog: Catalog) -> NDArray[np.int64]:
        """Replace the attributes of items already here; their positions."""
        positions = self.positions(item_ids_of(catalog))
        self._write(positions, catalog.frame)
        return positions

    def remove(self, item_ids: Iterable[str]) -> NDArray[np.int64]:
        positions = self.positions(item_ids)
        self.alive[positions] = False
        self._masks.clear()
        return positions

    def _write(self, positions: NDArray[np.int64], frame: pl.DataFrame) -> None:
        categories = [
            None if c is None else normalize_category(c) for c in _column(frame, "category")
        ]
        brands = [None if b is None else normalize_brand(b) for b in _column(frame, "brand")]
        self.category_code[positions] = self._categories.encode(categories)
        self.brand_code[positions] = self._brands.encode(brands)
        self.price[positions] = _numbers(frame, "price")
        self.stock[positions] = _numbers(frame, "stock")
        self.alive[positions] = True
        self._masks.clear()

    # ------------------------------------------------------------ masks

    def mask(self, filters: Filters | None) -> NDArray[np.bool_]:
        """Alive items that pass `filters`, by position (read-only, cached)."""
        key = filters if filters is not None else Filters()
        cached = self._masks.get(key)
        if cached is not None:
            return cached
        mask = self.alive.copy()
        if key.category is not None:
            prefix = key.category
            codes = [
                code
                for code, path in enumerate(self._categories.values)
                if path == prefix or path.startswith(prefix + ">")
            ]
            mask &= np.isin(self.category_code, np.asarray(codes, dtype=np.int32))
        if key.brands is not None:
            codes = [self._brands.lookup[b] for b in key.brands if b in self._brands.lookup]
            mask &= np.isin(self.brand_code, np.asarray(codes, dtype=np.int32))
        with np.errstate(invalid="ignore"):
            if key.min_price is not None:
                mask &= self.price >= key.min_price
            if key.max_price is not None:
                mask &= self.price <= key.max_price
            if key.in_stock:
                mask &= self.stock > 0
        mask.flags.writeable = False
        with self._masks_lock:  # two requests evicting at once would pop one key twice
            while len(self._masks) >= _CACHE_SIZE:
                self._masks.pop(next(iter(self._masks)))
            self._masks[key] = mask
        return mask

    # ------------------------------------------------------------ files

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        write_json(
            folder / "items.json",
            {
                "ids": self.ids,
                "categories": self._categories.values,
                "brands": self._brands.values,
            },
        )
        write_npy(folder / "alive.npy", self.alive)
        write_npy(folder / "category_code.npy", self.category_code)
        write_npy(folder / "brand_code.npy", self.brand_code)
        write_npy(folder / "price.npy", self.price)
        write_npy(folder / "stock.npy", self.stock)

    @classmethod
    def load(cls, folder: Path) -> ItemTable:
        meta = read_json(folder / "items.json")
        table = cls()
        table.ids = [str(i) for i in meta["ids"]]
        table.position = {item_id: p for p, item_id in enumerate(table.ids)}
        table._categories = _Codes([str(c) for c in meta["categories"]])
        table._brands = _Codes([str(b) for b in meta["brands"]])
        n = len(table.ids)
        table.alive = read_npy(folder / "alive.npy", np.bool_, (n,))
        table.category_code = read_npy(folder / "category_code.npy", np.int32, (n,))
        table.brand_code = read_npy(folder / "brand_code.npy", np.int32, (n,))
        table.price = read_npy(folder / "price.npy", np.float64, (n,))
        table.stock = read_npy(folder / "stock.npy", np.float64, (n,))
        return table
