"""`retrain` end to end on a small simulated shop: a better candidate is promoted, one
trained on shuffled rewards is registered unpromoted with the reason; and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.cli._retrain import parse_since, parse_weights
from paretorec.data.formats import FileFormat
from paretorec.data.io import write_dataset
from paretorec.loop import GateRule, RetrainConfig, retrain, write_report
from paretorec.loop.policy import LoopPolicy
from paretorec.loop.simulated import joined, later, serving_policy
from paretorec.serve.registry import ModelKind, ModelRegistry
from paretorec.simulate import UniformRandomPolicy, generate_world
from paretorec.simulate.config import WorldConfig
from paretorec.simulate.dataset import simulate_logs
from paretorec.simulate.world import World
from tests.loop.test_recommender import _fit as fit_recommender

FAST = {"epochs": 3, "temperature": 0.3, "gate": GateRule(n_bootstrap=200)}


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(24, 200, config=WorldConfig.lively(), seed=3)


@pytest.mark.slow
def test_better_candidate_promoted_and_shuffled_one_refused(world: World, tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "models")
    # day 1 explores uniformly (like the Open Bandit Dataset's random campaign)
    day1 = simulate_logs(world, 1000, seed=1, list_size=3, policy=UniformRandomPolicy())
    first = retrain(day1, registry, RetrainConfig(**FAST))  # type: ignore[arg-type]
    assert first.promoted, first.decision.reason
    assert first.baseline == "the logging policy"
    assert registry.promoted(ModelKind.POLICY) == first.version == "v0001"
    manifest = registry.manifest(ModelKind.POLICY, "v0001")
    assert manifest.config["decision"]["promote"] is True
    assert manifest.config["trained_until"] == first.until

    # day 2 is served by v0001 (exploring), appended to the same log
    served = LoopPolicy.load(registry.load(ModelKind.POLICY)[0])
    day2 = simulate_logs(
        world, 1000, seed=2, list_size=3, policy=serving_policy(world, served, 0.3)
    )
    log = joined(day1, later(day2, 30))
    worse = retrain(log, registry, RetrainConfig(**FAST, shuffle_rewards=True))  # type: ignore[arg-type]
    assert worse.since == first.until  # only the events since the promoted version
    assert worse.fit_rounds + worse.held_rounds == 1000 * 3
    assert not worse.promoted
    assert "the weighted objective is not better" in worse.decision.reason
    assert worse.baseline == "v0001"
    assert registry.promoted(ModelKind.POLICY) == "v0001"  # unchanged
    unpromoted = registry.manifest(ModelKind.POLICY, worse.version)
    assert unpromoted.config["decision"]["promote"] is False
    assert unpromoted.config["decision"]["reason"] == worse.decision.reason
    weighted = [c for c in worse.decision.comparisons if c.objective == "weighted"]
    assert {c.estimator for c in weighted} == {"SNIPS", "DR"}
    assert all(c.lower <= c.difference <= c.upper for c in weighted)
    assert all(c.difference < 0 for c in weighted)

    md, js = write_report(worse, tmp_path / "report")
    assert "registered, not promoted" in md.read_text()
    assert json.loads(js.read_text())["decision"]["promote"] is False


@pytest.mark.slow
def test_cli_reads_the_service_events_folder(world: World, tmp_path: Path) -> None:
    day = simulate_logs(world, 800, seed=4, list_size=3, policy=serving_policy(world, None, 1.0))
    write_dataset(day, tmp_path / "shop", FileFormat.CSV)
    events = tmp_path / "events"
    events.mkdir()
    (tmp_path / "shop" / "events.csv").rename(events / "events.csv")
    served = ModelRegistry(tmp_path / "served")  # the service's registry, its recommender
    with served.stage(ModelKind.RECOMMENDER) as staged:
        fit_recommender(day).save(staged.folder)
    result = CliRunner().invoke(
        app,
        [
            "retrain", "--data", str(tmp_path / "shop"), "--events", str(events),
            "--models", str(tmp_path / "models"), "--epochs", "2", "--bootstrap", "50",
            "--since", "2023-12-31", "--recommender-models", str(served.root),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "policy v0001" in result.output
    report = json.loads(
        (tmp_path / "models" / "loop-reports" / "v0001" / "retrain.json").read_text()
    )
    assert report["fit_rounds"] + report["held_rounds"] == 800 * 3
    assert "recommender v0002" in result.output
    refreshed = served.manifest(ModelKind.RECOMMENDER, "v0002")
    assert refreshed.config["refreshed_from"] == "v0001"
    assert (tmp_path / "served" / "loop-reports" / "recommender-v0002" / "retrain.md").is_file()


def test_cli_refuses_a_folder_without_a_log(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "items.csv").write_text("item_id,title\na,A\n")
    result = CliRunner().invoke(
        app, ["retrain", "--data", str(tmp_path / "shop"), "--events", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "no events.csv" in result.output


def test_parsing_weights_and_since() -> None:
    assert parse_weights("clicks=1, purchases=0,revenue=2") == {
        "clicks": 1.0,
        "purchases": 0.0,
        "revenue": 2.0,
    }
    with pytest.raises(ValueError, match="not NAME=VALUE"):
        parse_weights("clicks")
    with pytest.raises(ValueError, match="not a number"):
        parse_weights("clicks=x")
    assert parse_since("2024-01-02") == datetime(2024, 1, 2, tzinfo=UTC)
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_since("yesterday")


def test_config_checks_weights() -> None:
    config = RetrainConfig(weights={"clicks": 2, "purchases": 1, "revenue": 1})
    assert config.weights == {"clicks": 0.5, "purchases": 0.25, "revenue": 0.25}
    with pytest.raises(ValueError, match="each of clicks, purchases, revenue"):
        RetrainConfig(weights={"clicks": 1.0})
    with pytest.raises(ValueError, match="holdout"):
        RetrainConfig(holdout=1.0)
