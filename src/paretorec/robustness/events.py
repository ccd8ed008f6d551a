"""Event-log stress scenarios for the recommenders: click noise, click spam, cold catalog.

Each is a pure, seeded transformation of a dataset's `events` (strength 0 is the
identity, by the `Scenario` contract). Only *training* interactions are touched: rows
marked valid or test are kept as they are (an evaluation must measure the clean truth),
and rows a scenario adds are marked train. A log without a complete `split` column is
split first, leave-last-out per user (`paretorec.data.splits.split_events`), so the
stressed log carries the split of the clean one; its impressions take the split of the
shopper's next interaction (the list she bought her test item from is test, never turned
into a train click). Impressions are never counted as interactions.

- `click-noise` (strength r): ``round(r * n)`` false clicks (n: the touchable
  interactions), each inserted right after a uniformly drawn interaction of a shopper, on
  a uniformly drawn catalog item.
- `click-noise-position` (strength r): as many false clicks, position-biased: in a log
  with positioned impressions, impressions drawn with probability proportional to
  ``1 / position`` turn into clicks; in a log without, the item is drawn with probability
  proportional to ``1 / rank`` in the popularity order (a shop's lists show popular items
  first, and stray clicks land near the top).
- `click-spam` (strength s): `BOTS` new accounts with ``round(s * n)`` clicks in all,
  alternating the `ANCHORS` most popular items (at most the more popular half) with
  `TARGETS` seeded items from the less popular half (a campaign pushing a few items next
  to the best sellers, so that they show up as "bought together" with them).
- `click-spam-many` (strength s): the same campaign spread over many small accounts of
  `SMALL_BOT_CLICKS` clicks each (``ceil(round(s * n) / SMALL_BOT_CLICKS)`` accounts), each
  within any per-shopper cap and each a distinct shopper for pair support; each account
  goes on through the anchors where the previous one stopped.
- `cold-catalog` (strength s): a seeded share s of the items with interactions lose
  every touchable one.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
from numpy.typing import NDArray

from paretorec.data.splits import split_events
from paretorec.robustness.scenarios import Scenario, Target, register
from paretorec.types import Dataset, Events, EventType, Split

__all__ = [
    "ANCHORS",
    "BOTS",
    "CLICK_NOISE",
    "CLICK_NOISE_POSITION",
    "CLICK_SPAM",
    "CLICK_SPAM_MANY",
    "COLD_CATALOG",
    "TARGETS",
    "click_spam",
    "cold_catalog",
    "position_biased_false_clicks",
    "random_false_clicks",
]

BOTS = 5
SMALL_BOT_CLICKS = 20
TARGETS = 3
ANCHORS = 200
BOT_PREFIX = "bot-"
# columns a false click must not inherit from the row it follows
_PER_ROW = ("query_id", "position", "propensity", "value")


def _events(dataset: Dataset, what: str) -> pl.DataFrame:
    """The events, split (the clean log's leave-last-out split where it has none)."""
    if dataset.events is None or dataset.events.frame.height == 0:
        raise ValueError(f"{what}: dataset {dataset.name!r} has no events")
    frame = dataset.events.frame
    if "split" in frame.columns and frame["split"].null_count() == 0:
        return frame
    # as `split_sequences` splits: the interactions alone; impressions follow them in time
    frame = frame.with_row_index("__row")
    impression = pl.col("event").cast(pl.String) == EventType.IMPRESSION.value
    interactions = split_events(Events(frame.filter(~impression))).frame
    shown = _split_by_time(frame.filter(impression), interactions)
    shown = shown.with_columns(pl.col("split").cast(interactions.schema["split"]))
    both: pl.DataFrame = pl.concat([interactions, shown.select(interactions.columns)])
    return both.sort("__row").drop("__row")


_SPLIT_RANK = (Split.TRAIN.value, Split.VALID.value, Split.TEST.value)


def _split_by_time(shown: pl.DataFrame, interactions: pl.DataFrame) -> pl.DataFrame:
    """Impressions with the split of the shopper's next interaction (at or after them, in
    timestamp order, else log order; after her last, her latest split): the list a test
    purchase was made from is test, so no scenario turns it into a train click."""
    timed = "timestamp" in shown.columns and (
        shown["timestamp"].null_count() == 0 and interactions["timestamp"].null_count() == 0
    )
    key = "timestamp" if timed else "__row"
    rank = (
        pl.col("split")
        .cast(pl.String)
        .replace_strict(list(_SPLIT_RANK), list(range(len(_SPLIT_RANK))), return_dtype=pl.Int8)
    )
    points = (
        interactions.select("user_id", key, rank.alias("__rank"))
        .group_by("user_id", key)
        .agg(pl.col("__rank").max())  # tied points: the later split
        .sort(key)
    )
    latest = points.group_by("user_id").agg(pl.col("__rank").max().alias("__latest"))
    joined = (
        shown.sort(key)
        .join_asof(points, on=key, by="user_id", strategy="forward", check_sortedness=False)
        .join(latest, on="user_id", how="left")
        .with_columns(pl.coalesce("__rank", "__latest", pl.lit(0, dtype=pl.Int8)).alias("__rank"))
    )
    names = pl.col("__rank").replace_strict(
        list(range(len(_SPLIT_RANK))), list(_SPLIT_RANK), return_dtype=pl.String
    )
    own = pl.coalesce(pl.col("split").cast(pl.String), names) if "split" in shown.columns else names
    return joined.with_columns(own.alias("split")).drop("__rank", "__latest").sort("__row")


def _touchable(frame: pl.DataFrame) -> NDArray[np.bool_]:
    """Rows a scenario may use: interactions (not impressions), train or unsplit."""
    mask = pl.col("event").cast(pl.String) != EventType.IMPRESSION.value
    mask = mask & (pl.col("split").cast(pl.String) == Split.TRAIN.value)
    return frame.select(mask.fill_null(False)).to_series().to_numpy().astype(bool)


def _count(strength: float, n: int) -> int:
    return round(strength * n)


def _with_events(dataset: Dataset, frame: pl.DataFrame) -> Dataset:
    return replace(dataset, events=Events(frame))


def _insert_clicks(frame: pl.DataFrame, after: NDArray[np.int64], items: list[str]) -> pl.DataFrame:
    """`frame` with a click on `items[j]` right after row `after[j]` (same shopper, time,
    session and split; no query, position, propensity or value of its own)."""
    order = np.argsort(after, kind="stable")
    after, chosen = after[order], [items[j] for j in order.tolist()]
    blank = [pl.lit(None).cast(frame.schema[c]).alias(c) for c in _PER_ROW if c in frame.columns]
    added = frame[after.tolist()].with_columns(
        pl.Series("item_id", chosen, dtype=frame.schema["item_id"]),
        pl.lit(EventType.CLICK.value).cast(frame.schema["event"]).alias("event"),
        *blank,
    )
    base = frame.with_columns(__at=pl.int_range(pl.len(), dtype=pl.Int64), __sub=pl.lit(0))
    # several clicks after one row keep their draw order
    sub = np.arange(after.size) - np.searchsorted(after, after, side="left") + 1
    added = added.with_columns(
        __at=pl.Series(after, dtype=pl.Int64), __sub=pl.Series(sub, dtype=pl.Int32)
    )
    out: pl.DataFrame = pl.concat([base.with_columns(pl.col("__sub").cast(pl.Int32)), added])
    return out.sort("__at", "__sub").drop("__at", "__sub")


def _popularity_order(
    frame: pl.DataFrame, touchable: NDArray[np.bool_], ids: list[str]
) -> list[str]:
    """Catalog ids, most touchable interactions first (ties by id)."""
    counts = (
        frame.filter(pl.Series(touchable))
        .group_by("item_id")
        .len()
        .with_columns(pl.col("item_id").cast(pl.String))
    )
    table = pl.DataFrame({"item_id": ids}).join(counts, on="item_id", how="left")
    table = table.with_columns(pl.col("len").fill_null(0))
    return table.sort(["len", "item_id"], descending=[True, False])["item_id"].to_list()


def _catalog_ids(dataset: Dataset) -> list[str]:
    return [str(i) for i in dataset.items.item_ids.cast(pl.String).to_list()]


def random_false_clicks(dataset: Dataset, rate: float, seed: int) -> Dataset:
    """`click-noise` (see the module docstring)."""
    frame = _events(dataset, "click-noise")
    rows = np.flatnonzero(_touchable(frame))
    n = _count(rate, rows.size)
    if n == 0 or rows.size == 0:
        return dataset
    rng = np.random.default_rng(seed)
    ids = _catalog_ids(dataset)
    after = rng.choice(rows, size=n, replace=True)
    items = [ids[i] for i in rng.integers(0, len(ids), size=n).tolist()]
    return _with_events(dataset, _insert_clicks(frame, after, items))


def position_biased_false_clicks(dataset: Dataset, rate: float, seed: int) -> Dataset:
    """`click-noise-position` (see the module docstring)."""
    frame = _events(dataset, "click-noise-position")
    touchable = _touchable(frame)
    n = _count(rate, int(touchable.sum()))
    if n == 0:
        return dataset
    rng = np.random.default_rng(seed)
    if "position" in frame.columns:
        impression = frame.select(
            (pl.col("event").cast(pl.String) == EventType.IMPRESSION.value)
            & pl.col("position").is_not_null()
        ).to_series()
        impression = impression & (frame["split"].cast(pl.String) == Split.TRAIN.value)
        shown = np.flatnonzero(impression.fill_null(False).to_numpy())
        if shown.size:
            weight = 1.0 / frame["position"].to_numpy()[shown].astype(np.float64)
            flip = rng.choice(
                shown, size=min(n, shown.size), replace=False, p=weight / weight.sum()
            )
            event = np.array(frame["event"].cast(pl.String).to_list(), dtype=object)
            event[flip] = EventType.CLICK.value
            return _with_events(
                dataset,
                frame.with_columns(event=pl.Series(event.tolist()).cast(frame.schema["event"])),
            )
    rows = np.flatnonzero(touchable)
    if rows.size == 0:
        return dataset
    ranked = _popularity_order(frame, touchable, _catalog_ids(dataset))
    weight = 1.0 / np.arange(1, len(ranked) + 1, dtype=np.float64)
    after = rng.choice(rows, size=n, replace=True)
    items = [ranked[i] for i in rng.choice(len(ranked), size=n, p=weight / weight.sum()).tolist()]
    return _with_events(dataset, _insert_clicks(frame, after, items))


def click_spam(
    dataset: Dataset, strength: float, seed: int, *, clicks_per_bot: int | None = None
) -> Dataset:
    """`click-spam`, or with `clicks_per_bot` `click-spam-many` (see the module docstring)."""
    frame = _events(dataset, "click-spam")
    touchable = _touchable(frame)
    n = _count(strength, int(touchable.sum()))
    if n == 0:
        return dataset
    ranked = _popularity_order(frame, touchable, _catalog_ids(dataset))
    anchors = ranked[: min(ANCHORS, max(1, len(ranked) // 2))]  # the upper half at most
    lower = ranked[len(ranked) // 2 :] or ranked
    rng = np.random.default_rng(seed)
    targets = [
        lower[i] for i in rng.choice(len(lower), size=min(TARGETS, len(lower)), replace=False)
    ]
    accounts = BOTS if clicks_per_bot is None else -(-n // clicks_per_bot)
    per_bot = np.full(accounts, n // accounts) + (np.arange(accounts) < n % accounts)
    users: list[str] = []
    items: list[str] = []
    # small accounts take the campaign on where the previous one stopped, so together
    # they cover the anchors as the heavy bots do (each heavy bot starts at the first)
    start = np.cumsum(per_bot // 2) - per_bot // 2 if clicks_per_bot is not None else 0 * per_bot
    for bot, clicks in enumerate(per_bot.tolist()):
        step = np.arange(clicks)
        pick = step // 2 + int(start[bot])
        users += [f"{BOT_PREFIX}{bot}"] * clicks
        items += [
            anchors[p % len(anchors)] if s % 2 == 0 else targets[p % len(targets)]
            for s, p in zip(step.tolist(), pick.tolist(), strict=True)
        ]
    columns: dict[str, pl.Series] = {
        "user_id": pl.Series(users).cast(frame.schema["user_id"]),
        "item_id": pl.Series(items).cast(frame.schema["item_id"]),
        "event": pl.Series([EventType.CLICK.value] * n).cast(frame.schema["event"]),
    }
    columns["split"] = pl.Series([Split.TRAIN.value] * n).cast(frame.schema["split"])
    if "timestamp" in frame.columns:  # one time point: a bot's clicks stay in train
        latest = frame["timestamp"].max()
        columns["timestamp"] = pl.Series([latest] * n, dtype=frame.schema["timestamp"])
    bots = pl.DataFrame(columns)
    missing = [pl.lit(None).cast(t).alias(c) for c, t in frame.schema.items() if c not in columns]
    return _with_events(
        dataset, pl.concat([frame, bots.with_columns(missing).select(frame.columns)])
    )


def cold_catalog(dataset: Dataset, share: float, seed: int) -> Dataset:
    """`cold-catalog` (see the module docstring)."""
    if share > 1.0:
        raise ValueError(f"cold-catalog: strength is a share of items, at most 1, got {share}")
    frame = _events(dataset, "cold-catalog")
    touchable = _touchable(frame)
    present = np.unique(frame.filter(pl.Series(touchable))["item_id"].cast(pl.String).to_numpy())
    n = _count(share, present.size)
    if n == 0:
        return dataset
    rng = np.random.default_rng(seed)
    cold = present[np.sort(rng.choice(present.size, size=n, replace=False))]
    drop = touchable & frame["item_id"].cast(pl.String).is_in(cold.tolist()).to_numpy()
    return _with_events(dataset, frame.filter(pl.Series(~drop)))


CLICK_NOISE = register(
    Scenario(
        name="click-noise",
        description="random false clicks: r x (train interactions) clicks on uniform items",
        target=Target.RECOMMEND,
        strengths=(0.0, 0.1, 0.25, 0.5),
        transform=random_false_clicks,
    )
)
CLICK_NOISE_POSITION = register(
    Scenario(
        name="click-noise-position",
        description="position-biased false clicks (1/position; 1/popularity rank without impressions)",
        target=Target.RECOMMEND,
        strengths=(0.0, 0.1, 0.25, 0.5),
        transform=position_biased_false_clicks,
    )
)
CLICK_SPAM = register(
    Scenario(
        name="click-spam",
        description=f"{BOTS} bots, s x (train interactions) clicks pairing {ANCHORS} best sellers "
        f"with {TARGETS} pushed items",
        target=Target.RECOMMEND,
        strengths=(0.0, 0.03, 0.1, 0.3),
        transform=click_spam,
    )
)
CLICK_SPAM_MANY = register(
    Scenario(
        name="click-spam-many",
        description=f"accounts of {SMALL_BOT_CLICKS} clicks each, s x (train interactions) "
        f"clicks in all, pairing {ANCHORS} best sellers with {TARGETS} pushed items",
        target=Target.RECOMMEND,
        strengths=(0.0, 0.03, 0.1, 0.3),
        transform=lambda dataset, strength, seed: click_spam(
            dataset, strength, seed, clicks_per_bot=SMALL_BOT_CLICKS
        ),
    )
)
COLD_CATALOG = register(
    Scenario(
        name="cold-catalog",
        description="a share s of the items lose their train interactions",
        target=Target.RECOMMEND,
        strengths=(0.0, 0.1, 0.2, 0.4),
        transform=cold_catalog,
    )
)
