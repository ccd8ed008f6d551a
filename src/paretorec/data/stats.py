"""Descriptive statistics of a dataset: what `paretorec data stats` prints.

Pure functions of the typed tables; each returns a small frame or number, so the CLI,
the benchmarks and the simulator's calibration all compute them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from paretorec.data.schema import CATEGORY_SEPARATOR
from paretorec.types import Catalog, Dataset, Events, EventType, Judgments

PRICE_QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0)


def ctr_by_position(events: Events) -> pl.DataFrame:
    """Clicks over impressions at each logged position (rows without a position are left out).

    Columns: position, impressions, clicks, ctr. A click counts at the position logged on
    its own row, so a log must write the position on click rows too (the contract does).
    """
    frame = events.frame
    schema = pl.Schema(
        {
            "position": pl.Int64(),
            "impressions": pl.UInt32(),
            "clicks": pl.UInt32(),
            "ctr": pl.Float64(),
        }
    )
    if "position" not in frame.columns:
        return pl.DataFrame(schema=schema)
    counts = (
        frame.filter(pl.col("position").is_not_null())
        .group_by("position")
        .agg(
            (pl.col("event") == EventType.IMPRESSION.value).sum().alias("impressions"),
            (pl.col("event") == EventType.CLICK.value).sum().alias("clicks"),
        )
        .filter(pl.col("impressions") > 0)
        .sort("position")
    )
    return counts.with_columns((pl.col("clicks") / pl.col("impressions")).alias("ctr")).cast(schema)


def events_by_type(events: Events) -> pl.DataFrame:
    """Count and share of each event type, in the funnel's order."""
    order = {e.value: i for i, e in enumerate(EventType)}
    counts = events.frame.group_by("event").len("count")
    return (
        counts.with_columns((pl.col("count") / events.frame.height).alias("share"))
        .with_columns(pl.col("event").replace_strict(order, default=len(order)).alias("__o"))
        .sort("__o")
        .drop("__o")
    )


def sparsity(events: Events, n_items: int) -> float:
    """1 - (distinct user-item pairs) / (users in the log x items in the catalog)."""
    pairs = events.frame.select("user_id", "item_id").n_unique()
    users = events.frame["user_id"].n_unique()
    cells = users * n_items
    return 1.0 - pairs / cells if cells else 0.0


def top_categories(items: Catalog, *, k: int = 10, level: int = 1) -> pl.DataFrame:
    """The `k` most common categories cut to the first `level` levels of the path."""
    if "category" not in items.frame.columns:
        return pl.DataFrame(schema={"category": pl.String, "items": pl.UInt32, "share": pl.Float64})
    path = (
        pl.col("category").str.split(CATEGORY_SEPARATOR).list.eval(pl.element().str.strip_chars())
    )
    cut = path.list.head(level).list.join(f" {CATEGORY_SEPARATOR} ")
    return (
        items.frame.filter(pl.col("category").is_not_null())
        .select(cut.alias("category"))
        .group_by("category")
        .len("items")
        .with_columns((pl.col("items") / items.frame.height).alias("share"))
        .sort(["items", "category"], descending=[True, False])
        .head(k)
    )


def price_distribution(items: Catalog) -> pl.DataFrame:
    """Quantiles of item price (empty when the catalog has no prices)."""
    if (
        "price" not in items.frame.columns
        or items.frame["price"].null_count() == items.frame.height
    ):
        return pl.DataFrame(schema={"quantile": pl.Float64, "price": pl.Float64})
    prices = items.frame["price"].drop_nulls()
    return pl.DataFrame(
        {
            "quantile": list(PRICE_QUANTILES),
            "price": [prices.quantile(q, "linear") for q in PRICE_QUANTILES],
        }
    )


def judgment_grades(judgments: Judgments) -> pl.DataFrame:
    """How many judgments carry each grade."""
    return judgments.frame.group_by("grade").len("count").sort("grade")


@dataclass(frozen=True)
class DatasetStats:
    name: str
    rows: dict[str, int]
    n_items: int
    n_users: int | None
    n_queries: int | None
    sparsity: float | None
    events_by_type: pl.DataFrame | None
    ctr_by_position: pl.DataFrame | None
    top_categories: pl.DataFrame
    price: pl.DataFrame
    grades: pl.DataFrame | None

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""

        def rows(frame: pl.DataFrame | None) -> list[dict[str, object]] | None:
            return frame.to_dicts() if frame is not None else None

        return {
            "name": self.name,
            "rows": self.rows,
            "n_items": self.n_items,
            "n_users": self.n_users,
            "n_queries": self.n_queries,
            "sparsity": self.sparsity,
            "events_by_type": rows(self.events_by_type),
            "ctr_by_position": rows(self.ctr_by_position),
            "top_categories": rows(self.top_categories),
            "price": rows(self.price),
            "grades": rows(self.grades),
        }


def dataset_stats(dataset: Dataset) -> DatasetStats:
    events = dataset.events
    n_users: int | None = None
    if events is not None:
        n_users = events.frame["user_id"].n_unique()
    elif dataset.users is not None:
        n_users = len(dataset.users)
    n_queries: int | None = None
    if dataset.queries is not None:
        n_queries = len(dataset.queries)
    elif dataset.judgments is not None:
        n_queries = dataset.judgments.frame["query_id"].n_unique()
    return DatasetStats(
        name=dataset.name,
        rows={str(name): frame.height for name, frame in dataset.tables().items()},
        n_items=len(dataset.items),
        n_users=n_users,
        n_queries=n_queries,
        sparsity=sparsity(events, len(dataset.items)) if events is not None else None,
        events_by_type=events_by_type(events) if events is not None else None,
        ctr_by_position=ctr_by_position(events) if events is not None else None,
        top_categories=top_categories(dataset.items),
        price=price_distribution(dataset.items),
        grades=judgment_grades(dataset.judgments) if dataset.judgments is not None else None,
    )
