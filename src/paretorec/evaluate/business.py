"""Business metrics of an events table (the data contract's `events`).

- ``CTR = clicks / impressions``
- ``CVR = purchases / clicks``
- ``purchases per session = purchases / distinct session_id``
- ``revenue (GMV) = sum of value over purchase rows``
- ``margin = sum over purchase rows of (price - cost)`` of the item in the catalog: one
  unit per purchase event at the catalog's price

A ratio whose denominator is 0, or a needed column or value that is missing, raises
ValueError naming it; nothing is dropped silently.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import polars as pl

from paretorec.types import Catalog, Events, EventType

__all__ = [
    "BusinessMetrics",
    "business_metrics",
    "ctr",
    "cvr",
    "margin",
    "purchases_per_session",
    "revenue",
]


def _counts(events: Events) -> dict[EventType, int]:
    column = events.frame["event"]
    known = {e.value for e in EventType}
    unknown = sorted(set(column.drop_nulls().unique().to_list()) - known)
    if column.null_count() or unknown:
        shown = ", ".join(repr(u) for u in unknown) or "null"
        raise ValueError(f"events hold unknown event value(s): {shown}")
    tallies = dict(column.value_counts().iter_rows())
    return {e: int(tallies.get(e.value, 0)) for e in EventType}


def _ratio(numerator: int, denominator: int, what: str, of: str) -> float:
    if denominator == 0:
        raise ValueError(f"{what} is undefined: the events hold no {of}")
    return numerator / denominator


def _purchases(events: Events) -> pl.DataFrame:
    return events.frame.filter(pl.col("event") == EventType.PURCHASE.value)


def _n_sessions(events: Events) -> int:
    if "session_id" not in events.frame.columns:
        raise ValueError("purchases per session needs the events' session_id column")
    sessions = events.frame["session_id"]
    if sessions.null_count():
        raise ValueError(f"{sessions.null_count()} event(s) have no session_id")
    return int(sessions.n_unique())


def ctr(events: Events) -> float:
    """Clicks / impressions."""
    counts = _counts(events)
    return _ratio(counts[EventType.CLICK], counts[EventType.IMPRESSION], "CTR", "impressions")


def cvr(events: Events) -> float:
    """Purchases / clicks."""
    counts = _counts(events)
    return _ratio(counts[EventType.PURCHASE], counts[EventType.CLICK], "CVR", "clicks")


def purchases_per_session(events: Events) -> float:
    """Purchases / distinct sessions."""
    counts = _counts(events)
    return _ratio(
        counts[EventType.PURCHASE], _n_sessions(events), "purchases per session", "sessions"
    )


def revenue(events: Events) -> float:
    """GMV: the sum of `value` over purchase rows (0 when there is no purchase)."""
    _counts(events)
    purchases = _purchases(events)
    if purchases.height == 0:
        return 0.0
    if "value" not in purchases.columns:
        raise ValueError("revenue needs the events' value column")
    values = purchases["value"].cast(pl.Float64)
    if values.null_count() or values.is_nan().any():
        raise ValueError(
            f"{values.null_count() + int(values.is_nan().sum())} purchase(s) have no value"
        )
    return float(values.sum())


def margin(events: Events, catalog: Catalog) -> float:
    """The sum of (price - cost) of the purchased items, one unit per purchase."""
    _counts(events)
    missing = [c for c in ("price", "cost") if c not in catalog.frame.columns]
    if missing:
        raise ValueError(f"margin needs the catalog's {' and '.join(missing)} column(s)")
    purchases = _purchases(events).select("item_id")
    if purchases.height == 0:
        return 0.0
    priced = purchases.join(
        catalog.frame.select("item_id", "price", "cost"), on="item_id", how="left"
    )
    unknown = priced.filter(pl.col("price").is_null() | pl.col("cost").is_null())
    if unknown.height:
        raise ValueError(
            f"{unknown.height} purchase(s) of items without a catalog price and cost, e.g. item_id {unknown['item_id'][0]!r}"
        )
    return float((priced["price"] - priced["cost"]).sum())


@dataclass(frozen=True)
class BusinessMetrics:
    """Counts and business ratios; a ratio is None where its denominator or data is absent."""

    impressions: int
    clicks: int
    carts: int
    purchases: int
    sessions: int | None
    ctr: float | None
    cvr: float | None
    purchases_per_session: float | None
    revenue: float | None
    margin: float | None

    def as_dict(self) -> dict[str, float]:
        """The defined values by name."""
        return {k: float(v) for k, v in asdict(self).items() if v is not None}


def business_metrics(events: Events, *, catalog: Catalog | None = None) -> BusinessMetrics:
    """Every business metric the events (and catalog) allow."""
    counts = _counts(events)
    frame = events.frame
    has_sessions = "session_id" in frame.columns and frame["session_id"].null_count() == 0
    sessions = _n_sessions(events) if has_sessions else None
    purchases = counts[EventType.PURCHASE]
    has_value = purchases == 0 or "value" in frame.columns
    has_cost = catalog is not None and {"price", "cost"} <= set(catalog.frame.columns)
    return BusinessMetrics(
        impressions=counts[EventType.IMPRESSION],
        clicks=counts[EventType.CLICK],
        carts=counts[EventType.CART],
        purchases=purchases,
        sessions=sessions,
        ctr=ctr(events) if counts[EventType.IMPRESSION] else None,
        cvr=cvr(events) if counts[EventType.CLICK] else None,
        purchases_per_session=purchases / sessions if sessions else None,
        revenue=revenue(events) if has_value else None,
        margin=margin(events, catalog) if has_cost and catalog is not None else None,
    )
