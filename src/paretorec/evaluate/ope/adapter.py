"""From the data contract's `Events` to the estimators' arrays.

Each `impression` is a round: the item shown (`action`, its index in `action_ids`), its
`position` (1-based in the contract, 0-based here, as obp), its `propensity` (`pscore`,
the logging policy's marginal probability of this item at this position, obp's
`pscore_item_position`) and, when the column is there, `propensity_given_above`. The
reward of an impression is 1 when a `reward_event` (a click by default) of the same item
in the same session (`session_id`, else `user_id`) follows it before that item is shown
again, else 0. A slate (list) is the impressions sharing session, `timestamp` and
`query_id` (where those columns exist). The context of a round, when asked for, is its
user's row of the `users` table: numeric columns as they are, text columns one-hot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from paretorec.evaluate.ope.base import FloatArray, IntArray
from paretorec.evaluate.ope.slate import cascade_pscore
from paretorec.types import Events, EventType, Users

_SEP = "\x1f"


@dataclass(frozen=True)
class LoggedFeedback:
    """A log as arrays, one entry per impression (round), in the events' order."""

    reward: FloatArray
    action: IntArray  # index into action_ids
    position: IntArray  # 0-based
    pscore: FloatArray  # marginal: P(this item at this position), obp's pscore_item_position
    pscore_given_above: FloatArray | None  # P(this item here | the items above)
    slate_id: IntArray  # 0..n_slates - 1, in order of first appearance
    user_ids: tuple[str, ...]
    action_ids: tuple[str, ...]
    context: FloatArray | None = None
    context_names: tuple[str, ...] = ()

    @property
    def n_rounds(self) -> int:
        return int(self.reward.shape[0])

    @property
    def n_actions(self) -> int:
        return len(self.action_ids)

    @property
    def len_list(self) -> int:
        return int(self.position.max()) + 1

    def pscore_cascade(self) -> FloatArray:
        """obp's `pscore_cascade`: the probability of the slate's top down to each row's
        position, the product of `pscore_given_above` (needs that column)."""
        if self.pscore_given_above is None:
            raise ValueError("the events have no propensity_given_above column")
        return cascade_pscore(self.slate_id, self.position, self.pscore_given_above)


def without_orphan_feedback(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` without the clicks, carts and purchases whose item has no impression
    before them in their session (`session_id`, else the user), which
    `feedback_from_events` refuses: at a cut in time, a list shown before it and clicked
    after it belongs to the window before; and an impression dropped for lacking a
    propensity takes its feedback with it."""
    session = (
        pl.coalesce(pl.col("session_id"), pl.col("user_id"))
        if "session_id" in frame.columns
        else pl.col("user_id")
    )
    shown = pl.col("event").str.to_lowercase() == EventType.IMPRESSION.value
    owned = (
        pl.when(shown).then(pl.lit(True)).otherwise(None).forward_fill().over([session, "item_id"])
    )
    return frame.filter(shown | owned.is_not_null())


def feedback_from_events(
    events: Events,
    *,
    action_ids: Sequence[str] | pl.Series,
    reward_event: EventType = EventType.CLICK,
    users: Users | None = None,
    context_columns: Sequence[str] = (),
) -> LoggedFeedback:
    """The impressions of `events` as the estimators' arrays (see the module's notes).

    `action_ids` fixes the action numbering (e.g. the catalog's item ids, or the item
    ids in the order an evaluation policy's `action_dist` uses). `context_columns` are
    read from `users` for each impression's user. Raises ValueError naming the row
    (counted from 1) of an impression without position or propensity, an item not in
    `action_ids`, or a reward event with no impression before it.
    """
    frame = events.frame
    for column in ("position", "propensity"):
        if column not in frame.columns:
            raise ValueError(
                f"the events lack a {column!r} column, which off-policy evaluation needs"
            )
    ids = [str(a) for a in action_ids]
    if len(set(ids)) != len(ids):
        raise ValueError("action_ids must be distinct")
    session = (
        pl.coalesce(pl.col("session_id"), pl.col("user_id"))
        if "session_id" in frame.columns
        else pl.col("user_id")
    )
    slate_parts = [session.cast(pl.String)] + [
        pl.col(c).cast(pl.String).fill_null("")
        for c in ("timestamp", "query_id")
        if c in frame.columns
    ]
    event = pl.col("event").str.to_lowercase()
    is_imp = event == EventType.IMPRESSION.value
    work = frame.with_row_index("__row").with_columns(
        __session=session.cast(pl.String),
        __slate=pl.concat_str(slate_parts, separator=_SEP),
        __imp=pl.when(is_imp).then(pl.col("__row")).otherwise(None),
        __event=event,
    )
    work = work.with_columns(__owner=pl.col("__imp").forward_fill().over(["__session", "item_id"]))
    imps = work.filter(pl.col("__event") == EventType.IMPRESSION.value)
    if imps.height == 0:
        raise ValueError("the events hold no impressions: the log is empty")
    _fail_if(imps, pl.col("position").is_null(), "impression without a position")
    _fail_if(imps, pl.col("propensity").is_null(), "impression without a propensity")
    _fail_if(imps, pl.col("position") < 1, "position below 1 (positions count from 1)")
    prop = pl.col("propensity").cast(pl.Float64)
    bad_p = prop.is_nan() | (prop <= 0) | (prop > 1)
    _fail_if(imps, bad_p, "propensity outside (0, 1]")
    given: FloatArray | None = None
    if (
        "propensity_given_above" in imps.columns
        and imps["propensity_given_above"].null_count() < imps.height
    ):
        col = pl.col("propensity_given_above").cast(pl.Float64)
        _fail_if(imps, col.is_null(), "impression without a propensity_given_above")
        _fail_if(
            imps, col.is_nan() | (col <= 0) | (col > 1), "propensity_given_above outside (0, 1]"
        )
        given = imps["propensity_given_above"].cast(pl.Float64).to_numpy().copy()

    lookup = pl.DataFrame({"item_id": ids, "__action": np.arange(len(ids), dtype=np.int64)})
    imps = imps.join(lookup, on="item_id", how="left", maintain_order="left")
    _fail_if(imps, pl.col("__action").is_null(), "item_id is not in action_ids", show="item_id")

    rewarded = work.filter(pl.col("__event") == EventType(reward_event).value)
    _fail_if(
        rewarded,
        pl.col("__owner").is_null(),
        f"{reward_event} with no impression of its item before it in its session",
    )
    owners = rewarded["__owner"].unique()
    reward = imps["__row"].is_in(owners.implode()).cast(pl.Float64).to_numpy().copy()

    keys = imps["__slate"].to_numpy()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    code_of = np.empty(first.shape[0], dtype=np.int64)
    code_of[np.argsort(first)] = np.arange(first.shape[0])  # in order of first appearance
    slate_id: IntArray = code_of[inverse.reshape(-1)]

    context: FloatArray | None = None
    names: tuple[str, ...] = ()
    if context_columns:
        if users is None:
            raise ValueError("context_columns need the users table")
        context, names = _user_context(
            imps.select("__row", "user_id"), users, tuple(context_columns)
        )

    return LoggedFeedback(
        reward=reward,
        action=imps["__action"].cast(pl.Int64).to_numpy().copy(),
        position=(imps["position"].cast(pl.Int64) - 1).to_numpy().copy(),
        pscore=imps["propensity"].cast(pl.Float64).to_numpy().copy(),
        pscore_given_above=given,
        slate_id=slate_id,
        user_ids=tuple(imps["user_id"].cast(pl.String).to_list()),
        action_ids=tuple(ids),
        context=context,
        context_names=names,
    )


def _fail_if(frame: pl.DataFrame, bad: pl.Expr, why: str, *, show: str | None = None) -> None:
    hits = frame.filter(bad)
    if hits.height:
        row = int(hits["__row"][0]) + 1
        what = f" ({show} {hits[show][0]!r})" if show else ""
        more = f"; {hits.height - 1} more row(s) like it" if hits.height > 1 else ""
        raise ValueError(f"events row {row}: {why}{what}{more}")


def _user_context(
    rounds: pl.DataFrame, users: Users, columns: tuple[str, ...]
) -> tuple[FloatArray, tuple[str, ...]]:
    table = users.frame
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"the users table lacks context column(s): {', '.join(missing)}")
    joined = rounds.join(
        table.select("user_id", *columns).unique("user_id", keep="first"),
        on="user_id",
        how="left",
        maintain_order="left",
    )
    parts: list[FloatArray] = []
    names: list[str] = []
    for c in columns:
        series = joined[c]
        if series.null_count():
            i = int(series.is_null().arg_max() or 0)
            raise ValueError(
                f"events row {int(joined['__row'][i]) + 1}: user {joined['user_id'][i]!r} has "
                f"no {c!r} in the users table"
            )
        if series.dtype.is_numeric() or series.dtype == pl.Boolean:
            parts.append(series.cast(pl.Float64).to_numpy().reshape(-1, 1))
            names.append(c)
        else:
            values = series.cast(pl.String).to_numpy()
            levels = np.unique(values)
            parts.append((values[:, None] == levels[None, :]).astype(np.float64))
            names.extend(f"{c}={v}" for v in levels)
    return np.concatenate(parts, axis=1), tuple(names)
