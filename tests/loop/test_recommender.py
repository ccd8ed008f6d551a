"""The recommender's counts in the loop: refreshed from the window, judged, registered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paretorec.loop import GateRule, RetrainConfig
from paretorec.loop.policy import read_log
from paretorec.loop.recommender import list_distribution, refreshed, retrain_recommender
from paretorec.loop.simulated import drift, joined, later
from paretorec.retrieve.recommend import CoVisitation, Popularity, Quotas, Recommender, Source
from paretorec.serve.registry import ModelKind, ModelRegistry
from paretorec.simulate import UniformRandomPolicy, generate_world
from paretorec.simulate.config import WorldConfig
from paretorec.simulate.dataset import simulate_logs
from paretorec.types import Dataset


def _fit(dataset: Dataset) -> Recommender:
    ids = dataset.items.frame["item_id"].to_list()
    position = {item: n for n, item in enumerate(ids)}
    assert dataset.events is not None
    clicks = dataset.events.frame.filter(pl.col("event") == "click")
    users, sequences = [], []
    for user, items in clicks.group_by("user_id", maintain_order=True).agg("item_id").iter_rows():
        users.append(user)
        sequences.append(np.asarray([position[i] for i in items], dtype=np.int64))
    vectors = np.random.default_rng(0).standard_normal((len(ids), 8)).astype(np.float32)
    return Recommender.fit(
        ids,
        vectors,
        sequences,
        generators=[Popularity(), CoVisitation()],
        quotas=Quotas({Source.COVISITATION: 1.0}),
        user_ids=users,
    )


@pytest.mark.slow
def test_refreshed_counts_are_judged_registered_and_promoted_only_if_approved(
    tmp_path: Path,
) -> None:
    world = generate_world(24, 200, config=WorldConfig.lively(), seed=5)
    day0 = simulate_logs(world, 800, seed=1, list_size=3, policy=UniformRandomPolicy(), log_days=1)
    registry = ModelRegistry(tmp_path / "models")
    with registry.stage(ModelKind.RECOMMENDER) as staged:
        _fit(day0).save(staged.folder)
    assert day0.events is not None
    until = day0.events.frame["timestamp"].max()
    shifted = drift(world, strength=0.6, seed=5)
    day1 = simulate_logs(
        shifted, 1200, seed=2, list_size=3, policy=UniformRandomPolicy(), log_days=1
    )
    log = joined(day0, later(day1, 1))
    config = RetrainConfig(gate=GateRule(n_bootstrap=200))
    result = retrain_recommender(log, registry, config, since=until)  # type: ignore[arg-type]

    window = read_log(log, until)  # type: ignore[arg-type]
    assert result.fit_rounds + result.held_rounds == window.n_rounds == 1200 * 3
    assert result.version == "v0002" and result.baseline == "v0001"
    manifest = registry.manifest(ModelKind.RECOMMENDER, "v0002")
    fit = np.arange(result.fit_rounds)
    interest = (window.rewards["clicks"][fit] > 0) | (window.rewards["purchases"][fit] > 0)
    assert manifest.config["interactions_counted"] == int(interest.sum()) > 0
    assert manifest.config["decision"]["promote"] is result.promoted
    assert registry.promoted(ModelKind.RECOMMENDER) == ("v0002" if result.promoted else None)
    names = {(c.objective, c.estimator) for c in result.decision.comparisons}
    assert len(names) == 8  # clicks, purchases, revenue, weighted x SNIPS, DR
    # the saved candidate holds the refreshed histories
    candidate = Recommender.load(registry.load(ModelKind.RECOMMENDER, "v0002")[0])
    clicker = window.user_ids[int(np.flatnonzero(interest)[0])]
    before = Recommender.load(registry.load(ModelKind.RECOMMENDER, "v0001")[0])
    assert len(candidate.history_of(clicker)) > len(before.history_of(clicker))


def test_list_distribution_is_the_recommended_list(tmp_path: Path) -> None:
    world = generate_world(12, 30, config=WorldConfig.lively(), seed=0)
    day = simulate_logs(world, 200, seed=0, list_size=3, policy=UniformRandomPolicy(), log_days=1)
    recommender = _fit(day)
    log = read_log(day)
    rows = np.arange(50)
    dist = list_distribution(recommender, log, rows)
    assert dist.shape == (50, 12, 3)
    for r in (0, 17, 49):
        listed = recommender.recommend(user_id=log.user_ids[r], k=3).item_ids
        expected = [log.item_ids.index(item) for item in listed]
        assert [int(np.argmax(dist[r, :, k])) for k in range(len(expected))] == expected
    assert set(np.unique(dist.sum(axis=1))) <= {0.0, 1.0}  # one item per position at most
    counted = refreshed(recommender, log, rows)
    interest = (log.rewards["clicks"][rows] > 0) | (log.rewards["purchases"][rows] > 0)
    assert counted == int(interest.sum())
