from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.data.io import FileFormat, write_dataset
from paretorec.rank import Ranker, SimulatedLogs
from paretorec.serve.registry import ModelKind, ModelRegistry


def test_train_ranker_registers_a_version_and_prints_metrics(
    sim_logs: SimulatedLogs, tmp_path: Path
) -> None:
    data = tmp_path / "shop"
    write_dataset(sim_logs.dataset, data, FileFormat.PARQUET)
    models = tmp_path / "models"
    args = ["train", "ranker", "--data", str(data), "--model", "esmm", "--weighting", "mgda"]
    result = CliRunner().invoke(
        app, [*args, "--epochs", "1", "--seed", "1", "--models", str(models), "--no-text"]
    )
    assert result.exit_code == 0, result.output
    assert "purchase" in result.output and "registered ranker v0001" in result.output
    folder, manifest = ModelRegistry(models).load(ModelKind.RANKER)
    assert manifest.config["model"]["architecture"] == "esmm"
    assert 0.5 < manifest.metrics["click.auc"] <= 1.0
    ranker = Ranker.load(folder)
    assert ranker.tasks == ("click", "cart", "purchase")
    assert json.loads((folder / "ranker.json").read_text())["spec"]["text_dimension"] == 0


def test_train_ranker_fails_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", "ranker", "--data", str(tmp_path / "none"), "--no-text"]
    )
    assert result.exit_code == 1
    assert result.output.count("error:") == 1
