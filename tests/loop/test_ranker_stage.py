"""`retrain`'s ranker stage on a small simulated shop: the shop serves with a deliberately
bad ranker (trained on shuffled labels); a candidate trained on the log's labels is
promoted over it, and a candidate trained on shuffled labels is refused against that
promoted one. Plus the ordering's math by hand, bad inputs and the CLI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.cli._retrain import parse_stages
from paretorec.data.formats import FileFormat
from paretorec.data.io import write_dataset
from paretorec.loop import GateRule, RetrainConfig, write_report
from paretorec.loop.ranker import (
    EXPOSURES,
    RANKER_MODE,
    expected_values,
    ranker_action_dist,
    retrain_ranker,
)
from paretorec.loop.simulated import joined, later, shop_tables, true_value
from paretorec.rank.ranker import Ranker
from paretorec.serve.registry import ModelKind, ModelRegistry
from paretorec.simulate import UniformRandomPolicy, generate_world
from paretorec.simulate.config import WorldConfig
from paretorec.simulate.dataset import simulate_logs
from paretorec.simulate.env import Observation
from paretorec.simulate.logging_policy import Policy, SoftmaxPolicy
from paretorec.simulate.world import World
from paretorec.types import Events

T = 0.3
FAST = {"epochs": 15, "temperature": T, "gate": GateRule(n_bootstrap=200)}


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(24, 200, config=WorldConfig.lively(), seed=3)


def _served_by(world: World, registry: ModelRegistry) -> Policy:
    """The shop serving PL(log v / T) of the registry's promoted ranker (module docstring
    of `paretorec.loop.ranker`), its features read from its own training history."""
    folder = registry.load(ModelKind.RANKER)[0]
    ranker = Ranker.load(folder)
    history = Events(pl.read_parquet(folder / EXPOSURES))
    tables = dataclasses.replace(shop_tables(world), events=history)
    assert tables.users is not None
    users = tables.users.frame["user_id"].cast(str).to_list()
    values = expected_values(ranker, tables, users, RetrainConfig().weights)
    table = np.log(np.maximum(values, 1e-9))

    def score(obs: Observation) -> np.ndarray:
        return np.take_along_axis(table[obs.user], obs.candidates, axis=1)

    return SoftmaxPolicy(temperature=T, score=score)


@pytest.mark.slow
def test_candidate_beats_a_bad_logged_ranker_and_shuffled_one_is_refused(
    world: World, tmp_path: Path
) -> None:
    registry = ModelRegistry(tmp_path / "models")
    day1 = simulate_logs(world, 1000, seed=1, list_size=3, policy=UniformRandomPolicy())
    bad = retrain_ranker(day1, registry, RetrainConfig(**FAST, shuffle_rewards=True))  # type: ignore[arg-type]
    assert bad.baseline == "the logging policy"
    registry.promote(ModelKind.RANKER, bad.version)  # the shop serves the bad one anyway

    serving_bad = _served_by(world, registry)
    day2 = simulate_logs(world, 1000, seed=2, list_size=3, policy=serving_bad)
    log = joined(day1, later(day2, 30))
    good = retrain_ranker(log, registry, RetrainConfig(**FAST))  # type: ignore[arg-type]
    assert good.since == bad.until  # only the events since the promoted version
    assert good.fit_rounds + good.held_rounds == 1000 * 3
    assert good.baseline == bad.version
    assert good.promoted, good.decision.reason
    assert registry.promoted(ModelKind.RANKER) == good.version
    weighted = [c for c in good.decision.comparisons if c.objective == "weighted"]
    assert {c.estimator for c in weighted} == {"SNIPS", "DR"}
    assert all(0 < c.lower <= c.difference <= c.upper for c in weighted)
    manifest = registry.manifest(ModelKind.RANKER, good.version)
    assert manifest.config["mode"] == RANKER_MODE
    assert manifest.config["decision"]["promote"] is True
    assert manifest.config["trained_until"] == good.until
    assert manifest.metrics["snips_weighted_difference"] == pytest.approx(weighted[0].difference)

    serving_good = _served_by(world, registry)
    truth = {
        name: true_value(world, p, RetrainConfig().weights, n_sessions=500, list_size=3, seed=9)
        for name, p in (("bad", serving_bad), ("good", serving_good))
    }
    assert truth["good"]["weighted"] > 1.5 * truth["bad"]["weighted"]  # really better

    day3 = simulate_logs(world, 1000, seed=5, list_size=3, policy=serving_good)
    log = joined(log, later(day3, 60))
    worse = retrain_ranker(log, registry, RetrainConfig(**FAST, shuffle_rewards=True))  # type: ignore[arg-type]
    assert worse.since == good.until and worse.baseline == good.version
    assert not worse.promoted
    assert "the weighted objective is not better" in worse.decision.reason
    assert registry.promoted(ModelKind.RANKER) == good.version  # unchanged
    unpromoted = registry.manifest(ModelKind.RANKER, worse.version)
    assert unpromoted.config["decision"]["reason"] == worse.decision.reason
    md, js = write_report(worse, tmp_path / "report", kind="ranker")
    assert md.read_text().startswith(f"# retrain: ranker {worse.version} registered, not promoted")
    assert json.loads(js.read_text())["decision"]["promote"] is False


def test_ranker_action_dist_by_hand() -> None:
    values = np.array([[0.1, 0.2, 0.1], [0.0, 0.3, 0.3]])
    dist = ranker_action_dist(values, 2, 1.0)
    assert dist.shape == (2, 3, 2)
    # T = 1: PL with weights v; first slot v / sum v, second given the first removed
    assert dist[0, :, 0] == pytest.approx([0.25, 0.5, 0.25])
    assert dist[0, 1, 1] == pytest.approx(0.25 * 2 / 3 + 0.25 * 2 / 3)
    assert dist[1, 0, :] == pytest.approx([0.0, 0.0], abs=1e-6)  # v = 0: never shown
    # T = 0.5: weights v^2
    assert ranker_action_dist(values, 1, 0.5)[0, :, 0] == pytest.approx([1 / 6, 4 / 6, 1 / 6])
    assert np.allclose(dist.sum(axis=1), 1.0)  # every slot is filled by one item


def test_too_short_a_window_is_refused(world: World, tmp_path: Path) -> None:
    day = simulate_logs(world, 40, seed=1, list_size=3, policy=UniformRandomPolicy())
    with pytest.raises(ValueError, match="too few to train on and to judge"):
        retrain_ranker(day, ModelRegistry(tmp_path / "models"), RetrainConfig(**FAST))  # type: ignore[arg-type]


def test_parsing_stages() -> None:
    assert parse_stages("ranker, policy") == ("policy", "ranker")
    assert parse_stages("ranker") == ("ranker",)
    with pytest.raises(ValueError, match="--stages: encoder; choose from policy, ranker"):
        parse_stages("ranker,encoder")
    with pytest.raises(ValueError, match="none given"):
        parse_stages(" , ")


@pytest.mark.slow
def test_cli_retrains_the_ranker_stage(world: World, tmp_path: Path) -> None:
    day = simulate_logs(world, 800, seed=4, list_size=3, policy=UniformRandomPolicy())
    write_dataset(day, tmp_path / "shop", FileFormat.CSV)
    args = ["retrain", "--data", str(tmp_path / "shop"), "--models", str(tmp_path / "models")]
    fast = ["--epochs", "5", "--bootstrap", "50", "--temperature", "0.3"]
    result = CliRunner().invoke(app, [*args, *fast, "--stages", "ranker"])
    assert result.exit_code == 0, result.output
    assert "ranker v0001" in result.output and "policy v0001" not in result.output
    report = tmp_path / "models" / "loop-reports" / "ranker-v0001" / "retrain.json"
    assert json.loads(report.read_text())["fit_rounds"] == round(800 * 3 * 0.7)
    refused = CliRunner().invoke(app, [*args, "--stages", "recommender"])
    assert refused.exit_code == 1
    assert "--stages: recommender; choose from policy, ranker" in refused.output
