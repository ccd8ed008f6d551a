"""The recommender's counts in the loop: the promoted recommender with the interactions
of the window's training rounds counted in (its popularity, co-visitation and stored
histories, as the service's online updates count them), judged off-policy against the
promoted one on the held-back rounds and promoted only when the gate approves.

A recommender is a deterministic policy: for a round's shopper it shows its top
`len_list` (as of the end of the training rounds), so its action distribution puts
probability 1 on each listed item at its position; SNIPS and DR weigh the logged rounds
where the logging policy showed the same item there.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from paretorec.loop.features import FeatureLayout, FloatArray, IntArray
from paretorec.loop.gate import Decision
from paretorec.loop.policy import LOOP_MODE, LoopLog, read_log, users_table
from paretorec.loop.retrain import RetrainConfig, RetrainResult, judge_distributions
from paretorec.retrieve.recommend import Recommender
from paretorec.serve.registry import ModelKind, ModelRegistry
from paretorec.types import Dataset

__all__ = ["list_distribution", "refreshed", "retrain_recommender"]


def refreshed(recommender: Recommender, log: LoopLog, rows: IntArray) -> int:
    """Count the clicked or bought items of the rounds `rows` (in order) into
    `recommender`; how many interactions were counted."""
    interest = (log.rewards["clicks"][rows] > 0) | (log.rewards["purchases"][rows] > 0)
    by_user: dict[str, list[str]] = {}
    for i in rows[interest]:
        by_user.setdefault(log.user_ids[i], []).append(log.item_ids[log.action[i]])
    return sum(recommender.observe(user, items) for user, items in by_user.items())


def list_distribution(recommender: Recommender, log: LoopLog, rows: IntArray) -> FloatArray:
    """(len(rows), n_items, len_list): 1 where the recommender lists the item at the
    position for the round's shopper."""
    index = {item: n for n, item in enumerate(log.item_ids)}
    out = np.zeros((rows.size, len(log.item_ids), log.len_list))
    lists: dict[str, list[int]] = {}
    for r, i in enumerate(rows):
        user = log.user_ids[i]
        if user not in lists:
            found = recommender.recommend(user_id=user, k=log.len_list).item_ids
            lists[user] = [index[item] for item in found if item in index]
        for position, item in enumerate(lists[user]):
            out[r, item, position] = 1.0
    return out


def retrain_recommender(
    dataset: Dataset,
    registry: ModelRegistry,
    config: RetrainConfig,
    *,
    since: datetime | None = None,
) -> RetrainResult:
    """The recommender step of `retrain` on `registry`'s promoted (else latest)
    recommender: refresh, judge, register, promote if approved (see the module
    docstring). The window starts after `since`, else after the version's last counted
    event, else after its creation."""
    version = registry.resolve(ModelKind.RECOMMENDER)
    folder, manifest = registry.load(ModelKind.RECOMMENDER, version)
    if since is None:
        stamp = manifest.config.get("trained_until") or manifest.created_at
        since = datetime.fromisoformat(str(stamp))
    log = read_log(dataset, since)
    cut = round(log.n_rounds * (1 - config.holdout))
    if cut < 100 or log.n_rounds - cut < 100:
        raise ValueError(
            f"{log.n_rounds} rounds since {since.isoformat()}: too few to refresh the "
            "recommender and judge it (at least 100 each)"
        )
    fit, held = np.arange(cut), np.arange(cut, log.n_rounds)
    promoted = Recommender.load(folder)
    candidate = Recommender.load(folder)
    counted = refreshed(candidate, log, fit)
    users = users_table(dataset)
    layout = FeatureLayout.fit(users, dataset.items.frame, {}, 0.0)
    decision: Decision = judge_distributions(
        log,
        held,
        list_distribution(candidate, log, held),
        list_distribution(promoted, log, held),
        config,
        context=layout.contexts(users, [log.user_ids[i] for i in held]),
        items=layout.items(dataset.items.frame),
    )
    manifest_config = {
        "mode": LOOP_MODE,
        "refreshed_from": version,
        "trained_until": log.until,
        "since": since.isoformat(),
        "interactions_counted": counted,
        "fit_rounds": int(fit.size),
        "held_rounds": int(held.size),
        "baseline": version,
        "decision": decision.to_json(),
    }
    with registry.stage(ModelKind.RECOMMENDER, config=manifest_config) as staged:
        candidate.save(staged.folder)
    assert staged.manifest is not None
    if decision.promote:
        registry.promote(ModelKind.RECOMMENDER, staged.manifest.version)
    return RetrainResult(
        version=staged.manifest.version,
        promoted=decision.promote,
        baseline=version,
        decision=decision,
        since=since.isoformat(),
        until=log.until,
        fit_rounds=int(fit.size),
        held_rounds=int(held.size),
    )
