"""`train recommender` and `eval recommend` stop the neural generators early, print how
they trained and keep the validation curve (manifest; beside the metrics JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paretorec.cli import app
from tests.retrieve.recommend.conftest import write_shop

runner = CliRunner()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    titles = ["racing game", "racing wheel", "racing pedals", "puzzle game", "puzzle book"]
    baskets = [
        ["i0", "i1", "i2", "i3"] if user % 2 == 0 else ["i3", "i4", "i0", "i1"]
        for user in range(16)
    ]
    return write_shop(tmp_path_factory.mktemp("shop"), titles, baskets)


def test_train_recommender_records_the_curve_in_the_manifest(shop: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    trained = runner.invoke(
        app,
        ["train", "recommender", "--data", str(shop), "--models", str(models), "--epochs", "4",
         "--model", "sequential", "--cache", str(tmp_path / "cache")],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    assert "sequential: " in trained.output and "valid ndcg@10 by epoch" in trained.output
    manifest = json.loads(next(models.rglob("manifest.json")).read_text())
    log = manifest["config"]["training"]["sequential"]
    assert 1 <= log["epochs_run"] <= 4 and len(log["values"]) == log["epochs_run"]
    assert log["metric"] == "ndcg" and log["max_epochs"] == 4


def test_eval_recommend_writes_the_curves_beside_the_metrics(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "metrics.json"
    result = runner.invoke(
        app,
        ["eval", "recommend", "--data", str(shop), "--json", str(out), "--epochs", "3",
         "--model", "two-tower", "--cache", str(tmp_path / "cache")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    curves = json.loads((tmp_path / "metrics.training.json").read_text())
    assert set(curves) == {"two-tower"}
    assert curves["two-tower"]["epochs_run"] <= 3
    assert "two-tower" in json.loads(out.read_text())
