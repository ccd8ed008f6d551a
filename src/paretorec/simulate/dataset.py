"""Writing simulated logs as a `Dataset` in the data contract.

Every shown item is an `impression` row; a click, an add-to-cart and a purchase each add
a row for the same item with the same session, query, position and propensities; `value`
is the revenue (the price) on purchase rows and empty elsewhere. The propensities are the
logging policy's (see `logging_policy`), in the data contract's conventions (Open Bandit
Pipeline's): `propensity` is the marginal probability that the policy showed this item at
this position (obp's `pscore_item_position`; 1 / n_candidates at every position for the
uniform policy, like the Open Bandit Dataset's random campaign), and
`propensity_given_above` the probability of this item at this position given the items
above it, whose product down a list is the probability of the list's top. Sessions start at
random times over `log_days` days from the catalog's `today`, in session-id order;
a click follows its impression by seconds, a cart the click, a purchase the cart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from paretorec.data.schema import conform
from paretorec.simulate._arrays import BoolArray, FloatArray, IntArray
from paretorec.simulate.behaviour import Feedback
from paretorec.simulate.catalog import prefixed_ids
from paretorec.simulate.config import WorldConfig
from paretorec.simulate.env import RankingEnv
from paretorec.simulate.generate import generate_world
from paretorec.simulate.logging_policy import LoggingPolicyKind, Policy, make_policy
from paretorec.simulate.sessions import decode_query_keys, graded_relevance, query_texts
from paretorec.simulate.users import user_ids
from paretorec.simulate.world import World
from paretorec.types import (
    Catalog,
    Dataset,
    Events,
    EventType,
    Judgments,
    Queries,
    TableName,
    Users,
)

SECOND_US = 1_000_000
EVENT_ORDER: tuple[EventType, ...] = tuple(EventType)


@dataclass
class _Log:
    """Impressions collected batch by batch (one entry per active session and step)."""

    session: list[IntArray] = field(default_factory=list)
    step: list[IntArray] = field(default_factory=list)
    user: list[IntArray] = field(default_factory=list)
    query: list[IntArray] = field(default_factory=list)
    items: list[IntArray] = field(default_factory=list)
    propensity: list[FloatArray] = field(default_factory=list)  # marginal
    given_above: list[FloatArray] = field(default_factory=list)
    click: list[BoolArray] = field(default_factory=list)
    cart: list[BoolArray] = field(default_factory=list)
    purchase: list[BoolArray] = field(default_factory=list)


def simulate_dataset(
    n_items: int,
    n_users: int,
    n_sessions: int,
    *,
    seed: int = 0,
    list_size: int = 10,
    on_progress: Callable[[int], None] | None = None,
    config: WorldConfig | None = None,
    logging_policy: LoggingPolicyKind = LoggingPolicyKind.UNIFORM,
    temperature: float = 1.0,
    max_steps: int = 1,
    batch_size: int = 10_000,
) -> Dataset:
    """A generated shop and `n_sessions` sessions of logs from a logging policy.

    The world (catalog, shoppers, calibration) is drawn from `seed`, then the sessions;
    the same arguments give the same dataset. `on_progress(n)` is called with the number
    of sessions finished since its last call.
    """
    world = generate_world(n_items, n_users, config=config, seed=seed)
    return simulate_logs(
        world,
        n_sessions,
        seed=seed,
        list_size=list_size,
        policy=make_policy(logging_policy, temperature),
        max_steps=max_steps,
        batch_size=batch_size,
        on_progress=on_progress,
    )


def simulate_logs(
    world: World,
    n_sessions: int,
    *,
    seed: int = 0,
    list_size: int = 10,
    policy: Policy | None = None,
    max_steps: int = 1,
    batch_size: int = 10_000,
    on_progress: Callable[[int], None] | None = None,
    on_expected_feedback: Callable[[IntArray, IntArray, Feedback], None] | None = None,
    log_days: int = 30,
    name: str = "simulated",
) -> Dataset:
    """Run `policy` (uniformly random by default) for `n_sessions` sessions in `world` and
    return the items, users, queries and events tables.

    `on_expected_feedback(sessions, steps, feedback)`, where given, receives the exact
    expected feedback of every shown list (`RankingEnv.expected_feedback`, which draws
    nothing) for the active sessions of each step, before the step is drawn: the truth
    behind the log, for calibration."""
    if n_sessions < 0:
        raise ValueError(f"n_sessions must not be negative, got {n_sessions}")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if not 1 <= list_size <= world.n_candidates:
        raise ValueError(
            f"list_size must be between 1 and the number of candidates "
            f"({world.n_candidates}), got {list_size}"
        )
    policy = policy or make_policy(LoggingPolicyKind.UNIFORM)
    master = np.random.default_rng(np.random.SeedSequence([seed, 0x5E55]))
    log = _Log()
    done = 0
    while done < n_sessions:
        size = min(batch_size, n_sessions - done)
        env = RankingEnv(world, n_sessions=size, list_size=list_size, max_steps=max_steps)
        obs = env.reset(seed=int(master.integers(2**62)))
        policy_rng = np.random.default_rng(int(master.integers(2**62)))
        while obs.active.any():
            ranking = policy.sample(obs, list_size, policy_rng)
            act = obs.active
            if on_expected_feedback is not None:
                expected = env.expected_feedback(ranking.actions)
                on_expected_feedback(
                    done + np.flatnonzero(act),
                    np.full(int(act.sum()), obs.step),
                    Feedback(**{n: v[act] for n, v in expected.as_dict().items()}),
                )
            result = env.step(ranking.actions)
            fb = result.feedback
            log.session.append(done + np.flatnonzero(act))
            log.step.append(np.full(int(act.sum()), obs.step))
            log.user.append(obs.user[act])
            log.query.append(obs.query[act])
            log.items.append(result.shown[act])
            log.propensity.append(ranking.marginal_propensities[act])
            log.given_above.append(ranking.propensities_given_above[act])
            log.click.append(fb.clicks[act] > 0)
            log.cart.append(fb.carts[act] > 0)
            log.purchase.append(fb.purchases[act] > 0)
            obs = result.observation
        done += size
        if on_progress is not None:
            on_progress(size)
    events, query_keys = _events(world, log, n_sessions, list_size, seed, log_days)
    return Dataset(
        items=Catalog(world.items_frame()),
        users=Users(world.users_frame()),
        queries=Queries(_queries(world, query_keys)),
        judgments=Judgments(_judgments(world, log)),
        events=Events(events),
        name=name,
    )


def _cat(parts: list[IntArray], shape: tuple[int, ...]) -> IntArray:
    out: IntArray = np.concatenate(parts) if parts else np.zeros(shape, dtype=np.int64)
    return out


def _events(
    world: World, log: _Log, n_sessions: int, k: int, seed: int, log_days: int
) -> tuple[pl.DataFrame, IntArray]:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7135]))
    session = _cat(log.session, (0,))
    step = _cat(log.step, (0,))
    user = _cat(log.user, (0,))
    query = _cat(log.query, (0,))
    items = _cat(log.items, (0, k))
    prop = np.concatenate(log.propensity) if log.propensity else np.zeros((0, k))
    above = np.concatenate(log.given_above) if log.given_above else np.zeros((0, k))
    click = np.concatenate(log.click) if log.click else np.zeros((0, k), dtype=bool)
    cart = np.concatenate(log.cart) if log.cart else np.zeros((0, k), dtype=bool)
    bought = np.concatenate(log.purchase) if log.purchase else np.zeros((0, k), dtype=bool)

    start_us = int(world.config.catalog.today.timestamp() * SECOND_US)
    session_start = start_us + np.sort(rng.integers(0, log_days * 86_400 * SECOND_US, n_sessions))
    m = session.size
    shown_at = session_start[session] + step * 90 * SECOND_US + rng.integers(0, 30 * SECOND_US, m)
    position = np.broadcast_to(np.arange(1, k + 1), (m, k))
    t_imp = np.broadcast_to(shown_at[:, None], (m, k))
    t_click = t_imp + position * 5 * SECOND_US + rng.integers(SECOND_US, 4 * SECOND_US, (m, k))
    t_cart = t_click + rng.integers(10 * SECOND_US, 120 * SECOND_US, (m, k))
    t_buy = t_cart + rng.integers(30 * SECOND_US, 600 * SECOND_US, (m, k))

    row = np.broadcast_to(np.arange(m)[:, None], (m, k))
    masks = (np.ones((m, k), dtype=bool), click, cart, bought)
    times = (t_imp, t_click, t_cart, t_buy)
    r = np.concatenate([row[x] for x in masks])
    pos = np.concatenate([position[x] for x in masks])
    code = np.concatenate([np.full(int(x.sum()), i) for i, x in enumerate(masks)])
    ts = np.concatenate([t[x] for t, x in zip(times, masks, strict=True)])
    item = items[r, pos - 1]
    q = query[r]
    value = np.where(code == EVENT_ORDER.index(EventType.PURCHASE), world.items.price[item], np.nan)

    frame = pl.DataFrame(
        {
            "user_id": user_ids(world.n_users).gather(user[r]),
            "item_id": world.item_ids.gather(item),
            "event": pl.Series([e.value for e in EVENT_ORDER]).gather(code),
            "timestamp": pl.Series(ts, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
            "session_id": prefixed_ids("s", max(n_sessions, 1)).gather(session[r]),
            "query_id": pl.Series(q),
            "position": pl.Series(pos, dtype=pl.Int64),
            "propensity": pl.Series(prop[r, pos - 1]),
            "propensity_given_above": pl.Series(above[r, pos - 1]),
            "value": pl.Series(value).fill_nan(None),
            "__s": pl.Series(session[r]),
            "__c": pl.Series(code),
        }
    )
    frame = (
        frame.with_columns(
            pl.when(pl.col("query_id") >= 0)
            .then(pl.concat_str(pl.lit("q"), pl.col("query_id").cast(pl.String)))
            .otherwise(None)
            .alias("query_id")
        )
        .sort(["__s", "timestamp", "__c", "position"])
        .drop("__s", "__c")
    )
    return conform(frame, TableName.EVENTS), np.unique(query[query >= 0])


def _judgments(world: World, log: _Log) -> pl.DataFrame:
    """Graded relevance of every item shown for a query, from the simulator's own notion
    of it: grade = 2 x leaf relevance (1 same leaf as the intent, `relevance_mid` same
    mid-level category, `relevance_department` same department, else 0) + 1 if the query
    names the item's brand + 0.5 if it names one of the item's attributes; 0 to 3.5."""
    query = _cat(log.query, (0,))
    shown = _cat(log.items, (0, 1))
    searched = query >= 0
    keys = np.repeat(query[searched], shown.shape[1])
    items = shown[searched].ravel()
    pairs = (
        np.unique(np.stack([keys, items], axis=1), axis=0)
        if keys.size
        else np.zeros((0, 2), np.int64)
    )
    keys, items = pairs[:, 0], pairs[:, 1]
    intent = decode_query_keys(world, keys)
    grade = graded_relevance(world, intent, items[:, None])[:, 0]
    frame = pl.DataFrame(
        {
            "query_id": pl.Series(keys, dtype=pl.Int64).cast(pl.String),
            "item_id": world.item_ids.gather(items),
            "grade": grade,
        }
    ).with_columns(pl.concat_str(pl.lit("q"), pl.col("query_id")).alias("query_id"))
    return conform(frame, TableName.JUDGMENTS)


def _queries(world: World, keys: IntArray) -> pl.DataFrame:
    """The `queries` table: one row per distinct query typed in the logs."""
    texts = query_texts(world, decode_query_keys(world, keys))
    frame = pl.DataFrame(
        {"query_id": pl.Series(keys, dtype=pl.Int64).cast(pl.String), "text": texts}
    ).with_columns(pl.concat_str(pl.lit("q"), pl.col("query_id")).alias("query_id"))
    return conform(frame, TableName.QUERIES)
