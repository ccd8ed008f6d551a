"""The loop's policy: a `PreferencePolicy` over the whole catalog with its `FeatureLayout`,
served as Plackett-Luce over its scores / temperature, and the logged rounds it learns
from and is judged on.

Every impression of the event log is a round (as in `paretorec.evaluate.ope`): the item
shown, its position, the logging policy's marginal propensity, and three rewards: a click
of it (clicks), a purchase of it (purchases), and the purchase's revenue in units of the
catalog's mean price (revenue), so that the weighted reward adds like with like.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import torch

from paretorec.evaluate.ope import feedback_from_events
from paretorec.evaluate.ope.adapter import without_orphan_feedback
from paretorec.loop.features import CLICK, FeatureLayout, FloatArray, IntArray, smoothed_rates
from paretorec.policy import (
    OffPolicyConfig,
    PolicyConfig,
    PreferencePolicy,
    load_policy,
    save_policy,
    train_off_policy,
)
from paretorec.policy.inputs import PolicyInput
from paretorec.policy.offpolicy import LoggedRounds
from paretorec.simulate import plackett_luce_marginals
from paretorec.types import Dataset, Events, EventType

__all__ = [
    "LOOP_MODE",
    "OBJECTIVES",
    "LoopLog",
    "LoopPolicy",
    "catalog_marginals",
    "read_log",
    "train_candidate",
    "users_table",
    "window_events",
]

OBJECTIVES = ("clicks", "purchases", "revenue")
LOOP_MODE = "loop"
MAX_ITEMS = 2000  # the loop ranks the whole catalog; larger ones need candidates first


@dataclass(frozen=True)
class LoopLog:
    """Logged rounds in time order (see the module docstring)."""

    user_ids: tuple[str, ...]
    item_ids: tuple[str, ...]  # the catalog: actions index it
    action: IntArray
    position: IntArray  # 0-based
    pscore: FloatArray
    rewards: Mapping[str, FloatArray]
    until: str  # the last event's timestamp (ISO 8601), or "" without timestamps

    @property
    def n_rounds(self) -> int:
        return int(self.action.shape[0])

    @property
    def len_list(self) -> int:
        return int(self.position.max()) + 1

    def weighted(self, weights: Mapping[str, float], rows: IntArray) -> FloatArray:
        out: FloatArray = sum(
            (weights[k] * self.rewards[k][rows] for k in OBJECTIVES), np.zeros(rows.size)
        )
        return out


def read_log(dataset: Dataset, since: datetime | None = None) -> LoopLog:
    """The impressions of `dataset`'s events after `since` (all without it), in time order,
    with the clicks and purchases of their items that follow them."""
    if dataset.events is None:
        raise ValueError(f"{dataset.name}: no events to learn from")
    items = dataset.items.frame
    if items.height > MAX_ITEMS:
        raise ValueError(
            f"{dataset.name}: {items.height:,} items; the loop ranks the whole catalog, "
            f"at most {MAX_ITEMS:,} items"
        )
    frame = window_events(dataset.events, since)
    timed = "timestamp" in frame.columns and frame["timestamp"].null_count() < frame.height
    if frame.filter(pl.col("event") == EventType.IMPRESSION.value).height == 0:
        after = f" after {since.isoformat()}" if since is not None else ""
        raise ValueError(f"{dataset.name}: no impressions{after} to learn from")
    ids = items["item_id"].cast(pl.String).to_list()
    events = Events(frame)
    clicks = feedback_from_events(events, action_ids=ids, reward_event=EventType.CLICK)
    purchases = feedback_from_events(events, action_ids=ids, reward_event=EventType.PURCHASE)
    prices = (
        items["price"].cast(pl.Float64).fill_null(0.0).to_numpy()
        if "price" in items.columns
        else np.ones(len(ids))
    )
    scale = float(prices.mean()) if prices.size and prices.mean() > 0 else 1.0
    revenue = purchases.reward * prices[clicks.action] / scale
    stamp = frame["timestamp"].max() if timed else None
    until = stamp.isoformat() if isinstance(stamp, datetime) else ""
    return LoopLog(
        user_ids=clicks.user_ids,
        item_ids=tuple(ids),
        action=clicks.action,
        position=clicks.position,
        pscore=clicks.pscore,
        rewards={"clicks": clicks.reward, "purchases": purchases.reward, "revenue": revenue},
        until=until,
    )


def window_events(events: Events, since: datetime | None) -> pl.DataFrame:
    """The events after `since` in time order, without feedback whose impression is
    before it: the rows `read_log` reads, its n-th round the n-th impression among them."""
    frame = events.frame
    timed = "timestamp" in frame.columns and frame["timestamp"].null_count() < frame.height
    if since is not None:
        if not timed:
            raise ValueError("--since needs events with timestamps")
        frame = frame.filter(pl.col("timestamp") > since)
    if timed:
        frame = frame.sort("timestamp", maintain_order=True, nulls_last=True)
    return without_orphan_feedback(frame)


def users_table(dataset: Dataset) -> pl.DataFrame:
    """The users table, or an empty one (features from items alone)."""
    return (
        dataset.users.frame
        if dataset.users is not None
        else pl.DataFrame({"user_id": []}, schema={"user_id": pl.String})
    )


_PL_CELLS = 1 << 24  # rounds x items^2 per block: the rank-2 marginals hold that many floats


def catalog_marginals(logits: FloatArray, len_list: int) -> FloatArray:
    """Plackett-Luce marginals over the whole catalog, (n, c, len_list), computed in blocks
    of rounds: the exact rank-2 term needs an (n, c, c) array, 54 GB for 1,800 rounds of
    a 2,000-item catalog at once."""
    n, c = logits.shape
    out = np.empty((n, c, len_list))
    step = max(1, _PL_CELLS // max(c * c, 1))
    everything = np.arange(c)
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        out[lo:hi] = plackett_luce_marginals(
            logits[lo:hi], np.tile(everything, (hi - lo, 1)), len_list
        )
    return out


@dataclass(frozen=True, eq=False)
class LoopPolicy:
    """A trained loop policy and its layout; served as PL(scores / temperature)."""

    network: PreferencePolicy
    layout: FeatureLayout
    weights: Mapping[str, float]
    temperature: float

    def inputs(self, dataset: Dataset, user_ids: Sequence[str]) -> PolicyInput:
        items = dataset.items.frame
        ids = items["item_id"].cast(pl.String).to_list()
        n, c = len(user_ids), len(ids)
        static = self.layout.items(items)
        return PolicyInput(
            context=self.layout.contexts(users_table(dataset), user_ids),
            item_features=np.ascontiguousarray(
                np.broadcast_to(static[None], (n, c, static.shape[1]))
            ),
            predictions={CLICK: np.broadcast_to(self.layout.rates(ids)[None], (n, c))},
        )

    def scores(self, inputs: PolicyInput) -> FloatArray:
        """Each round's score of every catalog item under the policy's weights, (n, c)."""
        w = np.asarray([self.weights[k] for k in OBJECTIVES], dtype=np.float64)
        out = []
        step = 2048
        with torch.no_grad():
            for lo in range(0, inputs.n_requests, step):
                rows = np.arange(lo, min(lo + step, inputs.n_requests))
                part = inputs.select(rows)
                batch = self.network.batch(part, np.tile(w, (rows.size, 1)))
                out.append(self.network.first_scores(batch).double().numpy())
        return np.concatenate(out, axis=0)

    def action_dist(self, scores: FloatArray, len_list: int) -> FloatArray:
        """P(item at position k | round) as served, (n, c, len_list): Plackett-Luce
        marginals of scores / temperature."""
        return catalog_marginals(scores / self.temperature, len_list)

    def save(self, folder: Path) -> None:
        save_policy(
            folder,
            self.network,
            extra={
                LOOP_MODE: {
                    "layout": self.layout.to_json(),
                    "weights": dict(self.weights),
                    "temperature": self.temperature,
                }
            },
        )

    @classmethod
    def load(cls, folder: Path) -> LoopPolicy:
        network, meta = load_policy(folder)
        raw = meta.get(LOOP_MODE)
        if not isinstance(raw, Mapping):
            raise ValueError(f"{folder}: a policy not trained by the loop (`paretorec retrain`)")
        return cls(
            network=network,
            layout=FeatureLayout.from_json(raw["layout"]),
            weights={str(k): float(v) for k, v in raw["weights"].items()},
            temperature=float(raw["temperature"]),
        )


def train_candidate(
    dataset: Dataset,
    log: LoopLog,
    rows: IntArray,
    *,
    weights: Mapping[str, float],
    temperature: float,
    epochs: int,
    seed: int,
    shuffle_rewards: bool = False,
    previous: LoopPolicy | None = None,
) -> LoopPolicy:
    """A new loop policy trained off-policy (top-K corrected REINFORCE on the logged
    propensities) on the rounds `rows`; `shuffle_rewards` permutes the rewards across
    those rounds first (a deliberately uninformed candidate, to check the gate). The
    click rates start from `previous`'s (the promoted version) where given."""
    rewards = {k: v[rows] for k, v in log.rewards.items()}
    if shuffle_rewards:
        order = np.random.default_rng(seed).permutation(rows.size)
        rewards = {k: v[order] for k, v in rewards.items()}
    prior_rates = previous.layout.rates(log.item_ids) if previous is not None else None
    rates, overall = smoothed_rates(
        log.action[rows], rewards["clicks"], len(log.item_ids), prior_rates=prior_rates
    )
    layout = FeatureLayout.fit(
        users_table(dataset),
        dataset.items.frame,
        dict(zip(log.item_ids, rates.tolist(), strict=True)),
        overall,
    )
    config = PolicyConfig(
        objectives=OBJECTIVES,
        prediction_names=(CLICK,),
        context_dim=layout.context_dim,
        item_dim=layout.item_dim,
        links=(("clicks", CLICK),),
        hidden=32,
    )
    torch.manual_seed(seed)
    network = PreferencePolicy(config)
    policy = LoopPolicy(network, layout, dict(weights), temperature)
    train_off_policy(
        network,
        LoggedRounds(
            inputs=policy.inputs(dataset, [log.user_ids[i] for i in rows]),
            action=log.action[rows],
            position=log.position[rows],
            pscore=log.pscore[rows],
            rewards=rewards,
        ),
        OffPolicyConfig(
            epochs=epochs,
            top_k=log.len_list,
            fixed_weights=tuple(float(weights[k]) for k in OBJECTIVES),
            seed=seed,
        ),
    )
    network.eval()
    return policy
