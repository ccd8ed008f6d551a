"""The data contract as code: every table's columns, their types and their rules.

One place says what a valid dataset is; the reader, the validator, the writers and the
converters all read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import polars as pl

from paretorec.types import EventType, Split, TableName


class Kind(StrEnum):
    """How a column's text is parsed."""

    STRING = "string"
    FLOAT = "float"
    INT = "int"
    TIMESTAMP = "timestamp"


POLARS_TYPE: dict[Kind, pl.DataType] = {
    Kind.STRING: pl.String(),
    Kind.FLOAT: pl.Float64(),
    Kind.INT: pl.Int64(),
    Kind.TIMESTAMP: pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False


ITEM_COLUMNS = (
    Column("item_id", Kind.STRING, required=True),
    Column("title", Kind.STRING, required=True),
    Column("description", Kind.STRING),
    Column("category", Kind.STRING),
    Column("brand", Kind.STRING),
    Column("price", Kind.FLOAT),
    Column("cost", Kind.FLOAT),
    Column("stock", Kind.INT),
    Column("seller_id", Kind.STRING),
    Column("created_at", Kind.TIMESTAMP),
)
USER_COLUMNS = (Column("user_id", Kind.STRING, required=True),)
QUERY_COLUMNS = (
    Column("query_id", Kind.STRING, required=True),
    Column("text", Kind.STRING, required=True),
)
JUDGMENT_COLUMNS = (
    Column("query_id", Kind.STRING, required=True),
    Column("item_id", Kind.STRING, required=True),
    Column("grade", Kind.FLOAT, required=True),
    Column("split", Kind.STRING),
)
EVENT_COLUMNS = (
    Column("user_id", Kind.STRING, required=True),
    Column("item_id", Kind.STRING, required=True),
    Column("event", Kind.STRING, required=True),
    Column("timestamp", Kind.TIMESTAMP),
    Column("session_id", Kind.STRING),
    Column("query_id", Kind.STRING),
    Column("position", Kind.INT),
    Column("propensity", Kind.FLOAT),
    Column("propensity_given_above", Kind.FLOAT),
    Column("value", Kind.FLOAT),
    Column("split", Kind.STRING),
)

SCHEMAS: dict[TableName, tuple[Column, ...]] = {
    TableName.ITEMS: ITEM_COLUMNS,
    TableName.USERS: USER_COLUMNS,
    TableName.QUERIES: QUERY_COLUMNS,
    TableName.JUDGMENTS: JUDGMENT_COLUMNS,
    TableName.EVENTS: EVENT_COLUMNS,
}

# The column whose values must be unique in a table, when there is one.
PRIMARY_KEY: dict[TableName, tuple[str, ...]] = {
    TableName.ITEMS: ("item_id",),
    TableName.USERS: ("user_id",),
    TableName.QUERIES: ("query_id",),
    TableName.JUDGMENTS: ("query_id", "item_id"),
}

# Propensities of the logging policy (obp's conventions, so off-policy estimators agree):
# `propensity` is the marginal probability that it showed this item at this position
# (obp's pscore_item_position; what the Open Bandit Dataset ships); the optional
# `propensity_given_above` is the probability of this item at this position given the
# items above it, so its product down a list is the probability of that list's top.
PROPENSITY_COLUMNS = ("propensity", "propensity_given_above")

EVENT_TYPES: tuple[str, ...] = tuple(e.value for e in EventType)
SPLITS: tuple[str, ...] = tuple(s.value for s in Split)
CATEGORY_SEPARATOR = ">"


def conform(frame: pl.DataFrame, table: TableName) -> pl.DataFrame:
    """Cast the contract's columns of an already-clean frame to their types, in order.

    For frames built in code (converters, the simulator). Raises if a value cannot be
    cast; files from outside go through `paretorec.data.validate` instead, which reports
    bad rows rather than failing on the first.
    """
    specs = SCHEMAS[table]
    missing = [c.name for c in specs if c.required and c.name not in frame.columns]
    if missing:
        raise ValueError(f"{table} lacks required column(s): {', '.join(missing)}")
    known = [c for c in specs if c.name in frame.columns]
    return frame.with_columns(
        [pl.col(c.name).cast(POLARS_TYPE[c.kind], strict=True) for c in known]
    ).select(contract_order(frame.columns, table))


def contract_order(columns: list[str], table: TableName) -> list[str]:
    """The contract's columns first, in the contract's order, then any others as they came."""
    names = [c.name for c in SCHEMAS[table]]
    return [n for n in names if n in columns] + [c for c in columns if c not in names]
