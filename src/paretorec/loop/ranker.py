"""`retrain`'s ranker stage: a candidate multi-task ranker trained on the window's
impressions, clicks and purchases, judged off-policy against the promoted ranker on the
held-back rounds by the policy's gate, promoted only when the gate approves.

A ranker changes what the shop shows only through the scores it feeds the list
builder, so the gate judges the list a ranker-driven ordering serves: each shopper's
expected weighted reward of an item, v = w_clicks p(click) + w_purchases p(purchase)
+ w_revenue p(purchase) price / mean price (the same objectives and weights as the
policy's gate), and the list sampled Plackett-Luce with weights v^(1/T), i.e. PL over
log v / temperature (T -> 0: the greedy order by v). Each ranker is scored with the
exposure history it was trained on, as the service serves a ranker (popularity and the
shopper's history from its training log): the candidate with the window's training
part, the promoted loop ranker with the history stored beside it (`exposures.parquet`),
so neither sees the held-back rounds. A promoted ranker the loop did not train (`train
ranker`) has no stored history and is scored with the window's training part. The
candidate trains without text vectors (the loop has no encoder); a promoted ranker that
needs them is refused with a one-line error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from paretorec.loop.features import FeatureLayout, FloatArray
from paretorec.loop.policy import catalog_marginals, read_log, users_table, window_events
from paretorec.loop.retrain import (
    LOGGED,
    RetrainConfig,
    RetrainResult,
    judge_distributions,
    register_candidate,
)
from paretorec.rank.config import RankerConfig, TrainConfig
from paretorec.rank.features import RankerFeatures, build_candidate_features, build_ranker_features
from paretorec.rank.ranker import Ranker
from paretorec.rank.train import train_ranker
from paretorec.serve.registry import ModelKind, ModelRegistry
from paretorec.types import Dataset, Events, EventType, Split

__all__ = ["EXPOSURES", "RANKER_MODE", "expected_values", "ranker_action_dist", "retrain_ranker"]

RANKER_MODE = "loop-ranker"
EXPOSURES = "exposures.parquet"  # a loop ranker's training history, beside it
_FLOOR = 1e-9  # v of an item no task favours: PL needs log v finite


def _prices(items: pl.DataFrame) -> FloatArray:
    if "price" not in items.columns:
        return np.ones(items.height)
    out: FloatArray = items["price"].cast(pl.Float64).fill_null(0.0).to_numpy()
    return out


def expected_values(
    ranker: Ranker,
    history: Dataset,
    user_ids: Sequence[str],
    weights: Mapping[str, float],
) -> FloatArray:
    """(len(user_ids), n_items): each shopper's expected weighted reward of every catalog
    item under `ranker` (module docstring), with `history`'s catalog and events as the
    features' history. A task the ranker lacks counts 0."""
    if ranker.spec.text_dimension > 0:
        raise ValueError(
            "the ranker uses text vectors, which the loop does not compute; "
            "give `retrain` its own --models folder"
        )
    items = history.items.frame
    ids = items["item_id"].cast(pl.String).to_list()
    distinct = list(dict.fromkeys(user_ids))
    n, c = len(distinct), len(ids)
    features = build_candidate_features(
        history, ranker.spec, item_ids=ids * n, user_ids=[u for u in distinct for _ in ids]
    )
    p = ranker.predict(features)
    zero = np.zeros(n * c, dtype=np.float32)
    click = p.get("click", zero).astype(np.float64).reshape(n, c)
    purchase = p.get("purchase", zero).astype(np.float64).reshape(n, c)
    prices = _prices(items)
    scale = float(prices.mean()) if prices.size and prices.mean() > 0 else 1.0
    value = (
        weights["clicks"] * click
        + weights["purchases"] * purchase
        + weights["revenue"] * purchase * prices[None, :] / scale
    )
    row = {u: i for i, u in enumerate(distinct)}
    out: FloatArray = value[[row[u] for u in user_ids]]
    return out


def ranker_action_dist(values: FloatArray, len_list: int, temperature: float) -> FloatArray:
    """P(item at position k | round), (n, n_items, len_list): PL over log v / T."""
    return catalog_marginals(np.log(np.maximum(values, _FLOOR)) / temperature, len_list)


def _shuffled(features: RankerFeatures, seed: int) -> RankerFeatures:
    """The labels permuted across rows together (a deliberately uninformed candidate)."""
    order = np.random.default_rng(seed).permutation(len(features))
    labels = {k: v[order] for k, v in features.labels.items()}
    return dataclasses.replace(features, labels=labels)


def _fit_part(dataset: Dataset, since: datetime | None, cut: int) -> Dataset:
    """`dataset` with the window's events before its `cut`-th impression: what the
    candidate trains on and both rankers read their history from."""
    assert dataset.events is not None
    frame = window_events(dataset.events, since)
    impression = (pl.col("event") == EventType.IMPRESSION.value).cast(pl.Int64).cum_sum()
    frame = frame.filter(impression <= cut)
    return dataclasses.replace(dataset, events=Events(frame))


def _exposures(history: Dataset, ranker: Ranker) -> pl.DataFrame:
    """The (user, item) exposures a ranker's features read from its training history."""
    assert history.events is not None
    frame = history.events.frame.filter(pl.col("event") == ranker.spec.base_event)
    return frame.select(
        pl.col("user_id").cast(pl.String), pl.col("item_id").cast(pl.String), "event"
    )


@dataclass(frozen=True)
class _Promoted:
    version: str
    ranker: Ranker
    until: str | None  # its last trained event (loop rankers)
    exposures: pl.DataFrame | None  # its training history (loop rankers)


def _promoted_ranker(registry: ModelRegistry) -> _Promoted | None:
    version = registry.promoted(ModelKind.RANKER)
    if version is None:
        return None
    folder, manifest = registry.load(ModelKind.RANKER, version)
    loop = manifest.config.get("mode") == RANKER_MODE  # else trained by `train ranker`
    until = manifest.config.get("trained_until") if loop else None
    stored = folder / EXPOSURES
    exposures = pl.read_parquet(stored) if loop and stored.is_file() else None
    return _Promoted(version, Ranker.load(folder), str(until) if until else None, exposures)


def retrain_ranker(
    dataset: Dataset,
    registry: ModelRegistry,
    config: RetrainConfig,
    *,
    since: datetime | None = None,
    data: Path | None = None,
    ranker_config: RankerConfig | None = None,
) -> RetrainResult:
    """Train a candidate ranker on the window's first rounds, judge it against the
    promoted ranker (or, without one, the logging policy) on the latest `holdout` share,
    register it with the decision and promote it if the gate approves."""
    current = _promoted_ranker(registry)
    if since is None and current is not None and current.until:
        since = datetime.fromisoformat(current.until)
    log = read_log(dataset, since)
    cut = round(log.n_rounds * (1 - config.holdout))
    if cut < 100 or log.n_rounds - cut < 100:
        raise ValueError(
            f"{log.n_rounds} rounds since {since.isoformat() if since else 'the start'}: "
            "too few to train on and to judge (at least 100 each)"
        )
    fit_part = _fit_part(dataset, since, cut)
    # time-ordered split of the training part: its last 10% stops training early
    features = build_ranker_features(fit_part, valid_fraction=0.05, test_fraction=0.05)
    if features.split is not None:  # no test rows here: the held-back rounds judge
        split = np.where(features.split == Split.TEST.value, Split.VALID.value, features.split)
        features = dataclasses.replace(features, split=split)
    if config.shuffle_rewards:
        features = _shuffled(features, config.seed)
    model = ranker_config or RankerConfig(hidden=(64, 32))
    candidate = train_ranker(
        features, config=model, train=TrainConfig(epochs=config.epochs, seed=config.seed)
    )
    held = np.arange(cut, log.n_rounds)
    users = [log.user_ids[i] for i in held]
    mine = ranker_action_dist(
        expected_values(candidate, fit_part, users, config.weights),
        log.len_list,
        config.temperature,
    )
    theirs = None
    if current is not None:
        history = fit_part
        if current.exposures is not None:
            history = dataclasses.replace(dataset, events=Events(current.exposures))
        theirs = ranker_action_dist(
            expected_values(current.ranker, history, users, config.weights),
            log.len_list,
            config.temperature,
        )
    # the DR reward models read the loop policy's layout of shoppers and items
    layout = FeatureLayout.fit(users_table(dataset), dataset.items.frame, {}, 0.0)
    decision = judge_distributions(
        log,
        held,
        mine,
        theirs,
        config,
        context=layout.contexts(users_table(dataset), users),
        items=layout.items(dataset.items.frame),
    )

    def save(folder: Path) -> None:
        candidate.save(folder)
        _exposures(fit_part, candidate).write_parquet(folder / EXPOSURES)

    return register_candidate(
        registry,
        ModelKind.RANKER,
        save,
        mode=RANKER_MODE,
        log=log,
        since=since,
        config=config,
        decision=decision,
        baseline=current.version if current else LOGGED,
        fit_rounds=cut,
        held_rounds=int(held.size),
        data=data,
        extra={"model": model.to_json(), "tasks": list(candidate.tasks)},
    )
