"""Training samples from an events table: one row per exposure, a 0/1 label per task.

The exposure ("base") event is the weakest event type in the log: `impression` where
impressions are logged (the simulator, the Open Bandit Dataset), else the weakest event
present (a Taobao page view, written `click`). The tasks are the stronger event types
that occur, in funnel order (click, cart, purchase). Labels are cumulative funnel
stages: a sample's `cart` label is 1 if it reached cart *or beyond*, so the stages nest
(purchase implies cart implies click) and ESMM's chain of conditionals is well defined;
on the simulator this changes nothing, on Taobao a direct buy counts as a cart too.

Matching an event to its exposure:

- with impressions, an event belongs to the impression with the same user, item and,
  where the columns exist, session and position; an event with no impression is
  counted in `unmatched_events` (never silently dropped from the count);
- without impressions, each distinct (user, item[, session]) is one sample, timed by
  its first event.

Split: a `split` column given on every exposure wins. Otherwise samples are split by
time, whole sessions at a time (the user where there are no sessions): the latest
`test_fraction` of sessions is test, the `valid_fraction` before it valid. The data
contract's leave-last-out (`paretorec.data.splits.split_events`) is not used here: it
splits by distinct timestamps, which would put an impression and its later click in
different splits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from paretorec.types import Events, EventType, Split

FUNNEL: tuple[EventType, ...] = tuple(EventType)  # impression < click < cart < purchase
KEY_COLUMNS = ("user_id", "session_id", "item_id", "position")
CONTEXT_COLUMNS = ("session_id", "query_id", "position")


class LabelLeakageError(ValueError):
    """A feature gives a label away (raised here for a feature named like a task; the
    statistical check lives in `paretorec.rank.leakage`)."""


@dataclass(frozen=True)
class LoggedSamples:
    """One row per exposure, in the order of the base events in the log.

    `frame` holds user_id, item_id, session_id, query_id, position (null where the log
    lacks them), `time` (ordering key), `base_row` (row of the exposure among the base
    events of the log), one Int8 column per task and `split`.
    """

    frame: pl.DataFrame
    base_event: EventType
    tasks: tuple[str, ...]
    unmatched_events: int

    def __len__(self) -> int:
        return self.frame.height

    def labels(self) -> dict[str, np.ndarray]:
        return {t: self.frame[t].to_numpy().astype(np.float32) for t in self.tasks}


def _check_fractions(valid_fraction: float, test_fraction: float) -> None:
    if not (0 <= valid_fraction < 1 and 0 < test_fraction < 1):
        raise ValueError(
            f"valid_fraction must be in [0, 1) and test_fraction in (0, 1), "
            f"got {valid_fraction} and {test_fraction}"
        )
    if valid_fraction + test_fraction >= 1:
        raise ValueError("valid_fraction + test_fraction must leave some rows to train on")


def logged_samples(
    events: Events,
    *,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.2,
    extra_columns: tuple[str, ...] = (),
) -> LoggedSamples:
    """The exposures of `events` with their funnel labels and split (module docstring).

    `extra_columns` are event columns carried onto each exposure (taken from the base
    event's row).
    """
    _check_fractions(valid_fraction, test_fraction)
    frame = events.frame
    if frame.height == 0:
        raise ValueError("the events table is empty: nothing to train a ranker on")
    missing = [c for c in extra_columns if c not in frame.columns]
    if missing:
        raise ValueError(f"events lack the requested feature column(s): {', '.join(missing)}")
    present = set(frame["event"].unique().to_list())
    stages = [e for e in FUNNEL if e.value in present]
    base = stages[0]
    tasks = tuple(e.value for e in stages[1:])
    if not tasks:
        raise ValueError(
            f"the events hold only '{base.value}' rows: a ranker needs a stronger event "
            "(click, cart or purchase) to learn from"
        )
    named_like_task = [c for c in extra_columns if c.lower() in {e.value for e in FUNNEL}]
    if named_like_task:
        raise LabelLeakageError(
            f"feature(s) leak a label: 'event:{named_like_task[0]}' is named like task "
            f"'{named_like_task[0].lower()}'"
        )
    frame = frame.with_row_index("__row")
    for column in CONTEXT_COLUMNS:
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    frame = frame.with_columns(
        pl.col("session_id").cast(pl.String),
        pl.col("query_id").cast(pl.String),
        pl.col("position").cast(pl.Int64),
        pl.col("event").replace_strict({e.value: i for i, e in enumerate(FUNNEL)}).alias("__stage"),
        (
            pl.col("timestamp").cast(pl.Int64)
            if "timestamp" in frame.columns and frame["timestamp"].null_count() < frame.height
            else pl.col("__row").cast(pl.Int64)
        ).alias("__time"),
    )
    if "split" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("split"))
    base_stage = FUNNEL.index(base)
    keys = [c for c in KEY_COLUMNS if frame[c].null_count() < frame.height]
    if base is EventType.IMPRESSION:
        samples, unmatched = _with_impressions(frame, keys, base_stage, extra_columns)
    else:
        samples, unmatched = _without_impressions(frame, keys, extra_columns), 0
    for i, task in enumerate(tasks, start=base_stage + 1):
        samples = samples.with_columns((pl.col("__reached") >= i).cast(pl.Int8).alias(task))
    samples = _assign_split(samples, valid_fraction, test_fraction)
    columns = [
        "user_id",
        "item_id",
        "session_id",
        "query_id",
        "position",
        "time",
        "base_row",
        *extra_columns,
        *tasks,
        "split",
    ]
    return LoggedSamples(
        frame=samples.rename({"__time": "time"}).select(columns),
        base_event=base,
        tasks=tasks,
        unmatched_events=unmatched,
    )


def _with_impressions(
    frame: pl.DataFrame, keys: list[str], base_stage: int, extra: tuple[str, ...]
) -> tuple[pl.DataFrame, int]:
    base = frame.filter(pl.col("__stage") == base_stage).with_row_index("base_row")
    stronger = (
        frame.filter(pl.col("__stage") > base_stage)
        .group_by(keys)
        .agg(pl.col("__stage").max().alias("__reached"))
    )
    unmatched = stronger.join(base.select(keys).unique(), on=keys, how="anti")
    n_unmatched = int(
        frame.filter(pl.col("__stage") > base_stage)
        .join(unmatched.select(keys), on=keys, how="semi")
        .height
    )
    joined = base.join(stronger, on=keys, how="left", maintain_order="left").with_columns(
        pl.col("__reached").fill_null(base_stage)
    )
    selected = [
        "user_id",
        "item_id",
        "session_id",
        "query_id",
        "position",
        "__time",
        "base_row",
        "__reached",
        "split",
        *extra,
    ]
    return joined.select(selected), n_unmatched


def _without_impressions(
    frame: pl.DataFrame, keys: list[str], extra: tuple[str, ...]
) -> pl.DataFrame:
    group = [k for k in keys if k != "position"]
    out = (
        frame.sort("__time", "__row")
        .group_by(group, maintain_order=True)
        .agg(
            pl.col("__time").first(),
            pl.col("__row").first().alias("__first"),
            pl.col("__stage").max().alias("__reached"),
            pl.col("split").first(),
            pl.col("query_id").first(),
            pl.col("position").first(),
            *[pl.col(c).first() for c in extra],
            *[pl.col(c).first() for c in ("session_id",) if c not in group],
        )
        .sort("__first")
        .with_row_index("base_row")
    )
    return out


def _assign_split(
    samples: pl.DataFrame, valid_fraction: float, test_fraction: float
) -> pl.DataFrame:
    given = samples["split"].null_count() == 0 and samples.height > 0
    if given:
        allowed = {s.value for s in Split}
        bad = set(samples["split"].str.to_lowercase().unique().to_list()) - allowed
        if bad:
            raise ValueError(f"unknown split value(s) {sorted(bad)}: expected train, valid, test")
        return samples.with_columns(pl.col("split").str.to_lowercase())
    group = pl.coalesce(pl.col("session_id"), pl.col("user_id"))
    starts = (
        samples.group_by(group.alias("__group"))
        .agg(pl.col("__time").min().alias("__start"))
        .sort("__start", "__group")
        .with_row_index("__rank")
    )
    n = starts.height
    n_test = max(1, round(test_fraction * n))
    n_valid = round(valid_fraction * n)
    starts = starts.with_columns(
        pl.when(pl.col("__rank") >= n - n_test)
        .then(pl.lit(Split.TEST.value))
        .when(pl.col("__rank") >= n - n_test - n_valid)
        .then(pl.lit(Split.VALID.value))
        .otherwise(pl.lit(Split.TRAIN.value))
        .alias("split")
    )
    return (
        samples.drop("split")
        .with_columns(group.alias("__group"))
        .join(starts.select("__group", "split"), on="__group", how="left", maintain_order="left")
        .drop("__group")
    )
