"""Off-policy confidence intervals for the points of a request's front, from logged lists.

A logged list is a slate of impressions with the logging policy's marginal propensity of
each item at its position (the data contract's `propensity`): a simulated shop's log, or
the service's own event log fed by `serve --explore`. For one request (search: the lists
logged for the same query text; recommend: those logged for the same shopper without a
query) and each point's list L, the independent-item estimator (`IIPS`, Li et al. 2018)
with the deterministic target ``pi_e(a at k) = [L_k = a]`` gives the expected total
reward of L per list, with a percentile-bootstrap interval over logged lists:

- ``clicks``: clicks (a click on the shown item in the same session, after it was shown);
- ``purchases``: purchases, likewise;
- ``revenue``: purchases times the item's price.

Other objectives (diversity, fairness, relevance) are functions of the list itself, with
nothing to estimate from logs. An item the logs never showed for this request at its
position gets no weight, so the estimate leaves it out (IIPS is unbiased only where the
logging policy could show what the target shows): `support` says which share of the
list's (item, position) pairs the logs cover.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from numpy.typing import NDArray

from paretorec.data.io import table_file
from paretorec.evaluate.ope import IIPS, LoggedFeedback, PolicyValueInterval, feedback_from_events
from paretorec.evaluate.ope.adapter import without_orphan_feedback
from paretorec.types import Events, EventType, TableName

__all__ = [
    "ESTIMATED",
    "LoggedLists",
    "PointEstimate",
    "load_logged_lists",
    "point_estimates",
]

FloatArray = NDArray[np.float64]
# The front's objectives an off-policy estimate exists for, and the logged reward of each.
ESTIMATED = ("clicks", "purchases", "revenue")
N_BOOTSTRAP = 300
ALPHA = 0.05


@dataclass(frozen=True)
class LoggedLists:
    """Logged impressions with propensities, one entry per impression."""

    slate: NDArray[np.int64]
    position: NDArray[np.int64]  # 0-based
    item_ids: tuple[str, ...]  # the shown item of each impression
    pscore: FloatArray
    clicked: FloatArray
    purchased: FloatArray
    by_query: dict[str, NDArray[np.int64]]  # query text (lower case) -> its impressions
    by_user: dict[str, NDArray[np.int64]]  # shopper -> her impressions without a query
    sources: tuple[str, ...]  # where they were read, for the page

    def __len__(self) -> int:
        return len(self.item_ids)

    def request(self, *, query: str | None, user: str | None) -> NDArray[np.int64]:
        """The impressions of the lists logged for this request (see the module notes)."""
        found = (
            self.by_query.get(_key(query))
            if query is not None
            else self.by_user.get(user)
            if user is not None
            else None
        )
        return found if found is not None else np.zeros(0, dtype=np.int64)


def _key(query: str) -> str:
    return " ".join(query.lower().split())


def _index(keys: Sequence[str | None]) -> dict[str, NDArray[np.int64]]:
    rows: dict[str, list[int]] = {}
    for n, key in enumerate(keys):
        if key is not None:
            rows.setdefault(key, []).append(n)
    return {key: np.asarray(found, dtype=np.int64) for key, found in rows.items()}


@dataclass(frozen=True)
class PointEstimate:
    """One point's off-policy estimates (objective -> interval) and the logs behind them."""

    intervals: dict[str, PolicyValueInterval]
    n_lists: int
    matched: int  # logged impressions that show what this list shows at the same place
    support: float  # share of the list's (item, position) pairs the logs ever showed


def _read_events(folder: Path) -> tuple[pl.DataFrame, dict[str, str]]:
    """The events (and query id -> text) of a dataset or event-log folder."""
    path = table_file(folder, TableName.EVENTS)
    if path is None:
        return pl.DataFrame(), {}
    if path.suffix == ".csv":
        frame = pl.read_csv(path, infer_schema=False)
        numbers = {"position": pl.Int64, "propensity": pl.Float64}
        frame = frame.with_columns(
            [pl.col(c).cast(t) for c, t in numbers.items() if c in frame.columns]
        )
    else:
        frame = pl.read_parquet(path)
    texts: dict[str, str] = {}
    queries = table_file(folder, TableName.QUERIES)
    if queries is not None:
        table = pl.read_csv(queries) if queries.suffix == ".csv" else pl.read_parquet(queries)
        texts = dict(
            zip(table["query_id"].cast(pl.String), table["text"].cast(pl.String), strict=True)
        )
    return frame, texts


def _usable(frame: pl.DataFrame) -> pl.DataFrame:
    """The events of the lists whose every impression has a position and a propensity."""
    if frame.is_empty() or not {"position", "propensity"} <= set(frame.columns):
        return frame.clear()
    impression = pl.col("event").str.to_lowercase() == EventType.IMPRESSION.value
    lacking = impression & (pl.col("position").is_null() | pl.col("propensity").is_null())
    return without_orphan_feedback(frame.filter(~lacking))


def _feedback(frame: pl.DataFrame, event: EventType) -> LoggedFeedback:
    ids = frame["item_id"].cast(pl.String).unique(maintain_order=True)
    return feedback_from_events(Events(frame), action_ids=ids, reward_event=event)


def load_logged_lists(folders: Sequence[Path]) -> LoggedLists | None:
    """The logged lists with propensities in `folders` (dataset folders or the service's
    event-log folder); None when none of them has any."""
    parts: list[tuple[pl.DataFrame, dict[str, str], str]] = []
    for folder in folders:
        frame, texts = _read_events(folder)
        frame = _usable(frame)
        if frame.filter(pl.col("event").str.to_lowercase() == "impression").height:
            parts.append((frame, texts, str(folder)))
    if not parts:
        return None
    slates: list[NDArray[np.int64]] = []
    offset = 0
    positions: list[NDArray[np.int64]] = []
    pscores: list[FloatArray] = []
    clicked: list[FloatArray] = []
    bought: list[FloatArray] = []
    items: list[str] = []
    queries: list[str | None] = []
    users: list[str] = []
    for frame, texts, _ in parts:
        clicks = _feedback(frame, EventType.CLICK)
        purchases = _feedback(frame, EventType.PURCHASE)
        shown = frame.filter(pl.col("event").str.to_lowercase() == "impression")
        slates.append(clicks.slate_id + offset)
        offset += int(clicks.slate_id.max()) + 1
        positions.append(clicks.position)
        items.extend(clicks.action_ids[a] for a in clicks.action.tolist())
        pscores.append(clicks.pscore)
        clicked.append(clicks.reward)
        bought.append(purchases.reward)
        query_ids = (
            shown["query_id"].cast(pl.String).to_list()
            if "query_id" in shown.columns
            else [None] * shown.height
        )
        # A log without a queries table (the service's own) names the query by its text.
        queries.extend(None if q is None else texts.get(q, q) for q in query_ids)
        users.extend(shown["user_id"].cast(pl.String).to_list())
    return LoggedLists(
        slate=np.concatenate(slates),
        position=np.concatenate(positions),
        item_ids=tuple(items),
        pscore=np.concatenate(pscores),
        clicked=np.concatenate(clicked),
        purchased=np.concatenate(bought),
        by_query=_index([None if q is None else _key(q) for q in queries]),
        by_user=_index([u if q is None else None for q, u in zip(queries, users, strict=True)]),
        sources=tuple(source for _, _, source in parts),
    )


def point_estimates(
    logs: LoggedLists,
    rows: NDArray[np.int64],
    lists: Sequence[Sequence[str]],
    prices: Mapping[str, float],
    objectives: Sequence[str],
    *,
    seed: int = 0,
    n_bootstrap: int = N_BOOTSTRAP,
) -> list[PointEstimate]:
    """For each list of `lists`, IIPS estimates with intervals of the `objectives` among
    `ESTIMATED`, from the logged impressions `rows` (one request's, `LoggedLists.request`)."""
    if rows.size == 0:
        raise ValueError("no logged lists for this request")
    shown = [logs.item_ids[r] for r in rows.tolist()]
    position = logs.position[rows]
    slate = logs.slate[rows]
    pscore = logs.pscore[rows]
    price = np.asarray([prices.get(item, 0.0) for item in shown], dtype=np.float64)
    rewards = {
        "clicks": logs.clicked[rows],
        "purchases": logs.purchased[rows],
        "revenue": logs.purchased[rows] * price,
    }
    logged_pairs = set(zip(shown, position.tolist(), strict=True))
    estimator = IIPS()
    out = []
    for listed in lists:
        target = np.asarray(
            [
                p < len(listed) and listed[p] == item
                for item, p in zip(shown, position.tolist(), strict=True)
            ],
            dtype=np.float64,
        )
        intervals = {
            name: estimator.estimate_interval(
                slate_id=slate,
                reward=rewards[name],
                position=position,
                pscore_item_position=pscore,
                evaluation_policy_pscore_item_position=target,
                alpha=ALPHA,
                n_bootstrap=n_bootstrap,
                seed=seed,
            )
            for name in objectives
            if name in ESTIMATED
        }
        covered = sum((item, p) in logged_pairs for p, item in enumerate(listed))
        out.append(
            PointEstimate(
                intervals,
                n_lists=int(np.unique(slate).size),
                matched=int(target.sum()),
                support=covered / len(listed) if listed else 0.0,
            )
        )
    return out
