"""`ItemStore`: the served catalog's item attributes, changed live.

The retriever answers with item ids; the service shows each item's title, price,
category and brand, and hands the ranker the candidates' rows. The store keeps every
column of the catalog it was built from, by item id, column by column (Python lists:
an update or a removal changes one row, not a copy of the table).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from paretorec.data.schema import ITEM_COLUMNS, POLARS_TYPE, conform
from paretorec.types import Catalog, TableName

__all__ = ["ItemStore", "ItemValueError", "PreparedUpsert", "catalog_from_records"]

_CONTRACT_TYPES = {c.name: POLARS_TYPE[c.kind] for c in ITEM_COLUMNS}


class ItemValueError(ValueError):
    """Items the store cannot hold as given (a value out of its column's range); nothing
    was changed."""


def _utc(item_id: object, value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ItemValueError(
            f"item {item_id!r}: created_at {value.isoformat()} is out of range "
            "(in UTC it falls outside the years 1 to 9999)"
        ) from None


def catalog_from_records(records: Sequence[dict[str, Any]]) -> Catalog:
    """A `Catalog` from item records (dicts in the contract's columns), typed; created_at
    in UTC (naive taken as UTC). `ItemValueError` for a value its column cannot hold."""
    if not records:
        raise ItemValueError("no items")
    names = list(dict.fromkeys(name for record in records for name in record))
    schema = {name: _CONTRACT_TYPES.get(name, pl.String()) for name in names}
    rows = []
    for record in records:
        row = dict.fromkeys(names)
        for name, value in record.items():
            if name == "created_at" and isinstance(value, datetime):
                value = _utc(record.get("item_id"), value)
            row[name] = value
        rows.append(row)
    try:
        frame = pl.DataFrame(rows, schema=schema, orient="row")
        return Catalog(conform(frame, TableName.ITEMS))
    except (OverflowError, TypeError, ValueError, pl.exceptions.PolarsError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ItemValueError(f"the items do not fit the data contract's types: {reason}") from error


@dataclass(frozen=True)
class PreparedUpsert:
    """An upsert checked and converted in full (`ItemStore.prepare`): applying it cannot
    fail on a value. Row i of `records` and of `vectors` is item `ids[i]`."""

    ids: tuple[str, ...]
    records: tuple[dict[str, Any], ...]
    schema: dict[str, pl.DataType]
    vectors: NDArray[np.float32] | None


class ItemStore:
    """Item attributes by id (see the module docstring)."""

    def __init__(self, catalog: Catalog, vectors: NDArray[np.float32] | None = None) -> None:
        frame = catalog.frame
        if vectors is not None and vectors.shape[0] != frame.height:
            raise ValueError(f"{vectors.shape[0]} item vectors for {frame.height} items")
        self._vectors = vectors  # row i: the catalog's row i (may be a read-only memory map)
        self._changed_vectors: dict[int, NDArray[np.float32]] = {}
        ids = [str(i) for i in frame["item_id"].cast(pl.String).to_list()]
        if len(set(ids)) != len(ids):
            raise ValueError("an item_id appears twice in the catalog")
        self.schema: dict[str, pl.DataType] = dict(frame.schema)
        self._row: dict[str, int] = {item_id: row for row, item_id in enumerate(ids)}
        self._columns: dict[str, list[Any]] = {
            name: frame[name].to_list() for name in frame.columns
        }
        self._columns["item_id"] = ids
        self._alive: list[bool] = [True] * len(ids)
        self._n_alive = len(ids)

    def __len__(self) -> int:
        return self._n_alive

    def __contains__(self, item_id: object) -> bool:
        row = self._row.get(item_id) if isinstance(item_id, str) else None
        return row is not None and self._alive[row]

    def sample_ids(self, n: int) -> list[str]:
        """Up to `n` ids of items in the catalog (the first ones)."""
        out: list[str] = []
        for item_id, row in self._row.items():
            if len(out) >= n:
                break
            if self._alive[row]:
                out.append(item_id)
        return out

    def ever_had(self, item_id: str) -> bool:
        """Whether the item is or was in the catalog (events may name a removed item)."""
        return item_id in self._row

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self._columns)

    def missing(self, item_ids: Iterable[str]) -> list[str]:
        """The ids of `item_ids` that are not (or no longer) in the catalog, in order."""
        return [i for i in item_ids if i not in self]

    def values(self, item_ids: Sequence[str], column: str) -> list[Any]:
        """One column's values for these items (None where the catalog has no such column)."""
        values = self._columns.get(column)
        if values is None:
            return [None] * len(item_ids)
        return [values[self._row[i]] for i in item_ids]

    @property
    def has_vectors(self) -> bool:
        return self._vectors is not None

    def vectors(self, item_ids: Sequence[str]) -> NDArray[np.float32]:
        """The items' text vectors (those of their latest text), shape (n, d)."""
        return self.row_vectors(self.rows_of(item_ids))

    # ------------------------------------------------------------ by row (stages' arrays)

    @property
    def n_rows(self) -> int:
        """Rows ever used: removed items keep theirs, a new item takes the next."""
        return len(self._columns["item_id"])

    def column(self, name: str) -> Sequence[Any]:
        """The column's value of every row (None for a column the catalog lacks)."""
        values = self._columns.get(name)
        return values if values is not None else [None] * self.n_rows

    def rows_of(self, item_ids: Sequence[str]) -> NDArray[np.int64]:
        """The items' rows (KeyError for an id never served)."""
        return np.fromiter((self._row[i] for i in item_ids), dtype=np.int64, count=len(item_ids))

    def row_vectors(self, rows: NDArray[np.int64]) -> NDArray[np.float32]:
        """The text vectors (of their latest text) of these rows, shape (n, d)."""
        if self._vectors is None:
            raise ValueError("this catalog was served without item vectors")
        base = len(self._vectors)
        inside = rows < base
        out = np.zeros((len(rows), self._vectors.shape[1]), dtype=np.float32)
        out[inside] = self._vectors[rows[inside]]
        if self._changed_vectors:
            for n, row in enumerate(rows.tolist()):
                changed = self._changed_vectors.get(row)
                if changed is not None:
                    out[n] = changed
        return out

    def records(self, item_ids: Sequence[str]) -> list[dict[str, Any]]:
        rows = [self._row[i] for i in item_ids]
        return [{name: values[row] for name, values in self._columns.items()} for row in rows]

    def catalog(self, item_ids: Sequence[str]) -> Catalog:
        """These items as a `Catalog` with the store's columns and types."""
        data = {name: self.values(item_ids, name) for name in self._columns}
        return Catalog(pl.DataFrame(data, schema=self.schema))

    # ------------------------------------------------------------ changes

    def split_new(self, catalog: Catalog) -> tuple[list[str], list[str]]:
        """The catalog's ids that are new here, and those already here (to update)."""
        ids = [str(i) for i in catalog.frame["item_id"].to_list()]
        new = [i for i in ids if i not in self]
        known = [i for i in ids if i in self]
        return new, known

    def prepare(
        self, catalog: Catalog, vectors: NDArray[np.float32] | None = None
    ) -> PreparedUpsert:
        """Check and convert an upsert without changing anything: every value as the store
        will hold it, ids present and distinct, one finite, non-zero text vector per item
        (of the store's dimension). `ItemValueError` says what is wrong."""
        frame = catalog.frame
        columns: dict[str, list[Any]] = {}
        for name in frame.columns:
            try:
                columns[name] = frame[name].to_list()
            except (OverflowError, ValueError, pl.exceptions.PolarsError) as error:
                raise ItemValueError(f"{name}: a value is out of range ({error})") from error
        if any(i is None or str(i) == "" for i in columns["item_id"]):
            raise ItemValueError("an item_id is empty")
        ids = tuple(str(i) for i in columns["item_id"])
        if len(set(ids)) != len(ids):
            raise ItemValueError("an item_id appears twice in the change")
        records = tuple(
            {**{name: values[n] for name, values in columns.items()}, "item_id": item_id}
            for n, item_id in enumerate(ids)
        )
        array = None if vectors is None else self._checked_vectors(vectors, frame.height)
        return PreparedUpsert(ids, records, dict(frame.schema), array)

    def _checked_vectors(self, vectors: NDArray[np.float32], n: int) -> NDArray[np.float32]:
        array = np.asarray(vectors, dtype=np.float32)
        width = self._vectors.shape[1] if self._vectors is not None else None
        if (
            array.ndim != 2
            or array.shape[0] != n
            or (width is not None and array.shape[1] != width)
        ):
            raise ItemValueError(
                f"text vectors of shape {array.shape} for {n} items"
                + (f" of dimension {width}" if width is not None else "")
            )
        if not np.isfinite(array).all():
            raise ItemValueError("an item's text vector holds a non-finite value")
        if array.shape[1] == 0 or (np.linalg.norm(array, axis=1) == 0).any():
            raise ItemValueError("an item's text vector is zero")
        return array

    def upsert(self, catalog: Catalog, vectors: NDArray[np.float32] | None = None) -> None:
        """Add new items and replace known ones (every column; absent ones become null),
        with their text vectors (row i: the catalog's row i). Nothing changes when a value
        is refused (`ItemValueError`)."""
        self.apply(self.prepare(catalog, vectors))

    def apply(self, change: PreparedUpsert) -> None:
        """Apply a prepared upsert (see `prepare`)."""
        for name, kind in change.schema.items():
            if name not in self._columns:
                self._columns[name] = [None] * len(self._columns["item_id"])
                self.schema[name] = kind
        vectors = change.vectors
        for n, (item_id, record) in enumerate(zip(change.ids, change.records, strict=True)):
            row = self._row.get(item_id)
            if row is None:
                row = len(self._columns["item_id"])
                self._row[item_id] = row
                for values in self._columns.values():
                    values.append(None)
                self._alive.append(False)
            for name, values in self._columns.items():
                values[row] = record.get(name)
            self._columns["item_id"][row] = item_id
            if vectors is not None:
                self._changed_vectors[row] = np.asarray(vectors[n], dtype=np.float32)
            if not self._alive[row]:
                self._alive[row] = True
                self._n_alive += 1

    def remove(self, item_id: str) -> None:
        if item_id not in self:
            raise KeyError(item_id)
        self._alive[self._row[item_id]] = False
        self._n_alive -= 1
