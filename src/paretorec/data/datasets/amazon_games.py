"""Amazon Reviews 2018 "Video Games" (5-core, as published with LLMRank), from the shared
data folder.

- `Games.item` (tab-separated ``item_id:token``, ``title:token_seq``) → items.  The
  published titles carry HTML character references (``&amp;``, ``&reg;``, ...); they are
  decoded and runs of whitespace collapsed, so a title reads as it did on the shop page.
- `Games.test.inter` (tab-separated ``user_id:token``, ``item_id_list:token_seq`` the
  earlier items oldest first, ``item_id:token`` the last item) → events, one row per
  interaction, user by user and oldest first, with the extra column `sequence_number`
  (1, 2, ... within the user).  The data are reviews, and a review follows a purchase,
  so every event is a ``purchase``.  There are no timestamps: the row order is the
  time order, which is what leave-last-out splitting by row order needs.

A user listed twice, an empty item token or an item missing from `Games.item` is an error
naming the row; nothing is dropped.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from paretorec.data.datasets._common import (
    clean_text,
    dataset_folder,
    fail_duplicates,
    read_delimited,
    require_file,
    require_values,
)
from paretorec.data.datasets.errors import DatasetFormatError
from paretorec.data.schema import conform
from paretorec.types import Catalog, Dataset, Events, EventType, TableName

FOLDER = "amazon_games"
ITEMS_FILE = "Games.item"
INTERACTIONS_FILE = "Games.test.inter"
ITEM_COLUMNS = ("item_id:token", "title:token_seq")
INTERACTION_COLUMNS = ("user_id:token", "item_id_list:token_seq", "item_id:token")


def load_amazon_games(source: Path | None = None) -> Dataset:
    """Items and purchase events of Amazon Video Games; `source` is the folder of the two
    files (default: ``amazon_games/`` in the shared data folder)."""
    folder = dataset_folder(source, FOLDER)
    items_path = require_file(folder / ITEMS_FILE, "Amazon Video Games")
    inter_path = require_file(folder / INTERACTIONS_FILE, "Amazon Video Games")
    items = _read_items(items_path)
    events = _read_interactions(inter_path, items)
    return Dataset(
        items=Catalog(conform(items, TableName.ITEMS)),
        events=Events(conform(events, TableName.EVENTS)),
        name="amazon-games",
    )


def _read_items(path: Path) -> pl.DataFrame:
    source = str(path)
    frame = read_delimited(
        path.read_bytes(),
        source,
        columns=ITEM_COLUMNS,
        has_header=True,
        separator="\t",
        quote_char=None,
    )
    frame = frame.with_columns(clean_text(frame["title:token_seq"]))
    require_values(frame, ITEM_COLUMNS, source)
    frame = frame.select(
        item_id=pl.col("item_id:token").str.strip_chars(), title=pl.col("title:token_seq")
    )
    fail_duplicates(frame, ("item_id",), source, "item_id")
    return frame


def _read_interactions(path: Path, items: pl.DataFrame) -> pl.DataFrame:
    source = str(path)
    frame = read_delimited(
        path.read_bytes(),
        source,
        columns=INTERACTION_COLUMNS,
        has_header=True,
        separator="\t",
        quote_char=None,
    )
    require_values(frame, ("user_id:token", "item_id:token"), source)
    frame = frame.select(
        user_id=pl.col("user_id:token").str.strip_chars(),
        history=pl.col("item_id_list:token_seq").fill_null("").str.strip_chars(),
        last=pl.col("item_id:token").str.strip_chars(),
    )
    fail_duplicates(frame, ("user_id",), source, "user_id")
    sequences = frame.select(
        "user_id",
        item_id=pl.when(pl.col("history") == "")
        .then(pl.concat_list(pl.col("last")))
        .otherwise(pl.col("history").str.split(" ").list.concat(pl.col("last"))),
    )
    events = (
        sequences.with_row_index("row", offset=1)
        .with_columns(sequence_number=pl.int_ranges(1, pl.col("item_id").list.len() + 1))
        .explode("item_id", "sequence_number")
    )
    _fail_on_items(
        events, pl.col("item_id") == "", source, "an empty item id (two spaces in a row?)"
    )
    unknown = ~pl.col("item_id").is_in(items["item_id"].implode())
    _fail_on_items(events, unknown, source, f"an item missing from {ITEMS_FILE}")
    return events.select(
        "user_id",
        "item_id",
        event=pl.lit(EventType.PURCHASE.value),
        sequence_number="sequence_number",
    )


def _fail_on_items(events: pl.DataFrame, bad: pl.Expr, source: str, reason: str) -> None:
    """Raise for the first user row whose sequence holds an item where `bad` holds."""
    hits = events.filter(bad)
    if hits.height:
        first = hits.row(0, named=True)
        more = f"; {hits.height} such items in all" if hits.height > 1 else ""
        raise DatasetFormatError(
            source,
            f"row {first['row']}",
            f"user {first['user_id']} has {reason} (item {first['item_id']!r}){more}",
        )
