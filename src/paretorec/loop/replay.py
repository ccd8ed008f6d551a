"""Online counts across a restart: the events logged since the served recommender was
trained, replayed into its popularity, co-visitation and histories when the service
starts (without this, a restart forgets every online update since the last training).

Only interest events count (clicks, carts, purchases; an impression is not interest), in
time order, as `ServingPipeline.observe_events` counts them live; the cut is the
recommender version's creation time, so what it was trained on is not counted twice.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from paretorec.serve.pipeline import INTEREST_EVENTS, ServingPipeline

__all__ = ["interest_since", "replay_online_counts"]

_BATCH = 10_000


def interest_since(log: Path, since: datetime | None) -> list[tuple[str, str, str]]:
    """(user, item, event) of the log's interest events after `since`, oldest first."""
    if not log.is_file():
        return []
    frame = pl.read_csv(
        log, infer_schema=False, columns=["user_id", "item_id", "event", "timestamp"]
    )
    frame = frame.with_columns(
        pl.col("event").str.to_lowercase(),
        pl.col("timestamp").str.to_datetime(time_zone="UTC", strict=False),
    ).filter(pl.col("event").is_in(sorted(INTEREST_EVENTS)))
    if since is not None:
        frame = frame.filter(pl.col("timestamp") > since)
    frame = frame.sort("timestamp", maintain_order=True, nulls_last=True)
    return list(
        zip(
            frame["user_id"].to_list(),
            frame["item_id"].to_list(),
            frame["event"].to_list(),
            strict=True,
        )
    )


def replay_online_counts(pipeline: ServingPipeline, log: Path, since: datetime | None) -> int:
    """Feed the log's interest events after `since` to the pipeline's online counts; how
    many were counted (0 without a recommender)."""
    if pipeline.recommender is None:
        return 0
    events = interest_since(log, since)
    return sum(
        pipeline.observe_events(events[lo : lo + _BATCH]) for lo in range(0, len(events), _BATCH)
    )
