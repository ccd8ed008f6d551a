"""Typed values shared by every stage.

The data tables are columnar (Polars frames underneath) and wrapped in frozen dataclasses
that check their required columns when built, so a stage never receives a frame that
lacks what the data contract promises.  Column names and types live in
`paretorec.data.schema`; these wrappers only enforce presence and give names to the
columns the rest of the code reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import polars as pl


class TableName(StrEnum):
    """The tables of a dataset folder (see DESIGN.md, the data contract)."""

    ITEMS = "items"
    USERS = "users"
    QUERIES = "queries"
    JUDGMENTS = "judgments"
    EVENTS = "events"


class EventType(StrEnum):
    """What a shopper did with an item; ordered from weakest to strongest signal."""

    IMPRESSION = "impression"
    CLICK = "click"
    CART = "cart"
    PURCHASE = "purchase"


class Direction(StrEnum):
    """Whether an objective is to be made large or small (shared by objectives and moo)."""

    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


class Split(StrEnum):
    TRAIN = "train"
    VALID = "valid"
    TEST = "test"


def _require_columns(frame: pl.DataFrame, required: tuple[str, ...], what: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks required column(s): {', '.join(missing)}")


@dataclass(frozen=True)
class Catalog:
    """The `items` table: one row per item, `item_id` unique."""

    frame: pl.DataFrame
    REQUIRED = ("item_id", "title")

    def __post_init__(self) -> None:
        _require_columns(self.frame, self.REQUIRED, "items")

    def __len__(self) -> int:
        return self.frame.height

    @property
    def item_ids(self) -> pl.Series:
        return self.frame["item_id"]


@dataclass(frozen=True)
class Users:
    """The `users` table: `user_id` then any feature columns."""

    frame: pl.DataFrame
    REQUIRED = ("user_id",)

    def __post_init__(self) -> None:
        _require_columns(self.frame, self.REQUIRED, "users")

    def __len__(self) -> int:
        return self.frame.height


@dataclass(frozen=True)
class Queries:
    """The `queries` table: `query_id` and its `text`."""

    frame: pl.DataFrame
    REQUIRED = ("query_id", "text")

    def __post_init__(self) -> None:
        _require_columns(self.frame, self.REQUIRED, "queries")

    def __len__(self) -> int:
        return self.frame.height


@dataclass(frozen=True)
class Judgments:
    """Graded relevance of items for queries; higher `grade` is more relevant."""

    frame: pl.DataFrame
    REQUIRED = ("query_id", "item_id", "grade")

    def __post_init__(self) -> None:
        _require_columns(self.frame, self.REQUIRED, "judgments")

    def __len__(self) -> int:
        return self.frame.height


@dataclass(frozen=True)
class Events:
    """Interaction log: impressions, clicks, carts and purchases, one row each."""

    frame: pl.DataFrame
    REQUIRED = ("user_id", "item_id", "event")

    def __post_init__(self) -> None:
        _require_columns(self.frame, self.REQUIRED, "events")

    def __len__(self) -> int:
        return self.frame.height


@dataclass(frozen=True)
class Dataset:
    """A dataset folder in memory: the items and whichever other tables it has."""

    items: Catalog
    users: Users | None = None
    queries: Queries | None = None
    judgments: Judgments | None = None
    events: Events | None = None
    name: str = "dataset"

    def tables(self) -> dict[TableName, pl.DataFrame]:
        """The tables present, by name, in the contract's order."""
        present: dict[TableName, pl.DataFrame] = {TableName.ITEMS: self.items.frame}
        for name, table in (
            (TableName.USERS, self.users),
            (TableName.QUERIES, self.queries),
            (TableName.JUDGMENTS, self.judgments),
            (TableName.EVENTS, self.events),
        ):
            if table is not None:
                present[name] = table.frame
        return present
