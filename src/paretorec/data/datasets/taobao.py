"""Alibaba multi-behaviour logs from the shared data folder: Taobao and Tmall samples.

- `UserBehavior_10k.csv` (no header: user_id, item_id, category_id, behavior, unix
  seconds) → dataset ``taobao``, timestamps in UTC.
- `tmall_mobile_sample.csv` (header user_id, item_id, behavior_type 1–4, user_geohash,
  item_category, time ``YYYY-MM-DD HH``) → dataset ``tmall``.  The hour is read as China
  Standard Time (UTC+8, the platform's clock) and stored in UTC; `user_geohash` (mostly
  empty) stays as an extra event column.

Behaviours map onto the contract's events: a page view or browse is a ``click``, a cart
add a ``cart``, a purchase a ``purchase``; a favourite or collect (intent to buy without
a cart) is also a ``cart``.  The original name (pv/fav/cart/buy, or browse/collect/cart/
buy for Tmall) stays in the extra `behavior` column, so nothing is lost.  Rows keep file
order; repeated identical rows (Tmall has 104: the same action twice within an hour)
are kept, each being an action.

Neither log has item text, so each item of the log gets a synthetic, honest title
(``Taobao item 2200475 (category 3607361)``) and `category` = its category id.  An item
seen under two categories, an unknown behaviour or a bad time is an error naming the row.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from paretorec.data.datasets._common import (
    as_int,
    dataset_folder,
    fail_where,
    parse_column,
    read_delimited,
    require_file,
    require_values,
)
from paretorec.data.schema import conform
from paretorec.types import Catalog, Dataset, Events, EventType, TableName

FOLDER = "taobao"
TAOBAO_FILE = "UserBehavior_10k.csv"
TMALL_FILE = "tmall_mobile_sample.csv"
TAOBAO_COLUMNS = ("user_id", "item_id", "category_id", "behavior", "timestamp")
TMALL_COLUMNS = ("user_id", "item_id", "behavior_type", "user_geohash", "item_category", "time")
TMALL_TIME_ZONE = "Asia/Shanghai"

TAOBAO_EVENTS: dict[str, EventType] = {
    "pv": EventType.CLICK,
    "fav": EventType.CART,
    "cart": EventType.CART,
    "buy": EventType.PURCHASE,
}
TMALL_BEHAVIORS: dict[str, str] = {"1": "browse", "2": "collect", "3": "cart", "4": "buy"}
TMALL_EVENTS: dict[str, EventType] = {
    "browse": EventType.CLICK,
    "collect": EventType.CART,
    "cart": EventType.CART,
    "buy": EventType.PURCHASE,
}


def load_taobao(source: Path | None = None) -> Dataset:
    """The Taobao UserBehavior sample; `source` is the folder holding `UserBehavior_10k.csv`
    (default: ``taobao/`` in the shared data folder)."""
    path = require_file(dataset_folder(source, FOLDER) / TAOBAO_FILE, "Taobao")
    name = str(path)
    frame = read_delimited(path.read_bytes(), name, columns=TAOBAO_COLUMNS, has_header=False)
    require_values(frame, TAOBAO_COLUMNS, name)
    frame = frame.with_columns(pl.col(c).str.strip_chars() for c in TAOBAO_COLUMNS)
    frame = _map_behavior(frame, "behavior", TAOBAO_EVENTS, name)
    seconds = as_int("timestamp")
    frame = parse_column(
        frame,
        "timestamp",
        pl.from_epoch(seconds, time_unit="s").dt.replace_time_zone("UTC"),
        name,
        "unix seconds",
    )
    return _dataset(frame, name, category="category_id", shop="Taobao", extra=())


def load_tmall(source: Path | None = None) -> Dataset:
    """The Tmall mobile sample; `source` is the folder holding `tmall_mobile_sample.csv`
    (default: ``taobao/`` in the shared data folder)."""
    path = require_file(dataset_folder(source, FOLDER) / TMALL_FILE, "Tmall")
    name = str(path)
    frame = read_delimited(path.read_bytes(), name, columns=TMALL_COLUMNS, has_header=True)
    required = tuple(c for c in TMALL_COLUMNS if c != "user_geohash")
    require_values(frame, required, name)
    frame = frame.with_columns(pl.col(c).str.strip_chars() for c in TMALL_COLUMNS)
    fail_where(
        frame,
        ~pl.col("behavior_type").is_in(list(TMALL_BEHAVIORS)),
        name,
        f"behavior_type is not one of {', '.join(TMALL_BEHAVIORS)}",
        show="behavior_type",
    )
    frame = frame.with_columns(behavior=pl.col("behavior_type").replace_strict(TMALL_BEHAVIORS))
    frame = _map_behavior(frame, "behavior", TMALL_EVENTS, name)
    hour = (pl.col("time") + ":00").str.to_datetime(
        "%Y-%m-%d %H:%M", time_unit="us", time_zone=TMALL_TIME_ZONE, strict=False
    )
    frame = parse_column(
        frame, "time", hour.dt.convert_time_zone("UTC"), name, "a 'YYYY-MM-DD HH' hour"
    )
    frame = frame.rename({"time": "timestamp"})
    return _dataset(frame, name, category="item_category", shop="Tmall", extra=("user_geohash",))


def _map_behavior(
    frame: pl.DataFrame, column: str, mapping: dict[str, EventType], source: str
) -> pl.DataFrame:
    """Add `event` from the behaviour names in `column`; an unknown name is an error."""
    known = list(mapping)
    fail_where(
        frame,
        ~pl.col(column).is_in(known),
        source,
        f"{column} is not one of {', '.join(known)}",
        show=column,
    )
    events = {name: event.value for name, event in mapping.items()}
    return frame.with_columns(event=pl.col(column).replace_strict(events, return_dtype=pl.String))


def _dataset(
    frame: pl.DataFrame, source: str, *, category: str, shop: str, extra: tuple[str, ...]
) -> Dataset:
    """Events in file order and the items they name, each with its one category."""
    fail_where(
        frame,
        pl.col(category).n_unique().over("item_id") > 1,
        source,
        "item_id appears under more than one category",
        show="item_id",
    )
    pairs = frame.select("item_id", category).unique(maintain_order=True)
    items = pairs.select(
        "item_id",
        title=pl.format(f"{shop} item {{}} (category {{}})", "item_id", category),
        category=category,
    )
    events = frame.select("user_id", "item_id", "event", "timestamp", "behavior", *extra)
    return Dataset(
        items=Catalog(conform(items, TableName.ITEMS)),
        events=Events(conform(events, TableName.EVENTS)),
        name=shop.lower(),
    )
