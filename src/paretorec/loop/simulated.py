"""The loop in the simulated shop: a loop policy serving sessions (exploring, with exact
propensities), the truth the simulator knows about a policy's value, and a drifting shop.

A small shop ranks its whole catalog (every item is a candidate), so the loop policy's
scores over the catalog are the served policy's scores over the session's candidates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import polars as pl

from paretorec.loop.features import FloatArray
from paretorec.loop.policy import OBJECTIVES, LoopPolicy
from paretorec.simulate import RankingEnv
from paretorec.simulate.env import Observation
from paretorec.simulate.logging_policy import Policy, SoftmaxPolicy, heuristic_scores, policy_value
from paretorec.simulate.world import World
from paretorec.types import Catalog, Dataset, Events, Users

__all__ = ["drift", "joined", "later", "serving_policy", "shop_tables", "true_value"]


def shop_tables(world: World) -> Dataset:
    """The items and users tables of `world` (what a loop policy reads its features from)."""
    return Dataset(
        items=Catalog(world.items_frame()), users=Users(world.users_frame()), name="shop"
    )


def serving_policy(world: World, policy: LoopPolicy | None, temperature: float) -> Policy:
    """How the shop serves: the loop policy as PL(scores / T), or, before there is one,
    the simulator's heuristic ranker at the same temperature."""
    if policy is None:
        return SoftmaxPolicy(temperature=temperature, score=heuristic_scores)
    tables = shop_tables(world)
    users = tables.users.frame["user_id"].to_list() if tables.users is not None else []
    table = policy.scores(policy.inputs(tables, users))  # (n_users, n_items)

    def score(obs: Observation) -> FloatArray:
        out: FloatArray = np.take_along_axis(table[obs.user], obs.candidates, axis=1)
        return out

    return SoftmaxPolicy(temperature=policy.temperature, score=score)


def true_value(
    world: World,
    serving: Policy,
    weights: Mapping[str, float],
    *,
    n_sessions: int,
    list_size: int,
    seed: int,
) -> dict[str, float]:
    """The simulator's exact expected clicks, purchases and revenue (in mean prices) per
    list of a policy, and their weighted sum, over `n_sessions` fresh sessions."""
    env = RankingEnv(world, n_sessions=n_sessions, list_size=list_size)
    env.reset(seed=seed)
    raw = policy_value(env, serving, n_samples=4, rng=np.random.default_rng(seed))
    mean_price = float(world.items.price.mean())
    out = {
        "clicks": raw["clicks"],
        "purchases": raw["purchases"],
        "revenue": raw["revenue"] / mean_price,
    }
    out["weighted"] = sum(weights[k] * out[k] for k in OBJECTIVES)
    return out


def drift(world: World, *, strength: float, seed: int) -> World:
    """The shop after a change of taste: each item's latent quality moves toward a fresh
    draw (correlation 1 - strength with the old), and every shopper's department
    preferences move to the next department by `strength`."""
    if not 0 <= strength <= 1:
        raise ValueError(f"strength must lie in [0, 1], got {strength}")
    rng = np.random.default_rng(seed)
    items, users = world.items, world.users
    keep = 1.0 - strength
    quality = keep * items.quality + np.sqrt(1 - keep**2) * rng.standard_normal(items.quality.shape)
    prefs = keep * users.category_pref + strength * np.roll(users.category_pref, 1, axis=1)
    return replace(
        world,
        items=replace(items, quality=quality),
        users=replace(users, category_pref=prefs / prefs.sum(axis=1, keepdims=True)),
    )


def later(dataset: Dataset, days: float) -> Dataset:
    """`dataset` with its events `days` later and its session ids marked with `days`:
    simulated days follow one another in the log (each simulated log starts at the
    catalog's `today`, its sessions numbered from 0)."""
    if dataset.events is None:
        return dataset
    frame = dataset.events.frame.with_columns(
        pl.col("timestamp") + pl.duration(microseconds=round(days * 86_400e6)),
        pl.format("d{}-{}", pl.lit(days), pl.col("session_id")).alias("session_id"),
    )
    return replace(dataset, events=Events(frame))


def joined(first: Dataset, second: Dataset) -> Dataset:
    """One log after the other (the service's events.csv as it grows), tables of `second`."""
    if first.events is None or second.events is None:
        raise ValueError("both datasets need events")
    frame = pl.concat([first.events.frame, second.events.frame], how="vertical_relaxed")
    return replace(second, events=Events(frame))
