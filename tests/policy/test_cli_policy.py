"""`paretorec train policy` writes a registry version that serves a front."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.policy import served_front
from paretorec.preference import simplex_grid
from paretorec.serve.registry import ModelKind, ModelRegistry


def test_train_policy_in_the_simulator_writes_a_version(tmp_path: Path) -> None:
    models = tmp_path / "models"
    args = ["train", "policy", "--simulator", "--models", str(models), "--sessions", "128",
            "--batch", "64", "--items", "400", "--users", "100", "--seed", "1", "--log-sessions", "2000"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "wrote policy v0001" in result.output
    folder, manifest = ModelRegistry(models).load(ModelKind.POLICY)
    assert "final_reward" in manifest.metrics
    front = served_front(folder, simplex_grid(3, 1), n_sessions=20)
    assert front.values.shape == (3, 3)
    again = CliRunner().invoke(app, [*args, "--resume"])  # resumes the finished run: no steps
    assert again.exit_code == 0, again.output


def test_train_policy_needs_exactly_one_source(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["train", "policy", "--models", str(tmp_path)])
    assert result.exit_code == 1
    assert "exactly one of --simulator and --data" in result.output


def test_a_batch_that_is_not_a_multiple_of_four_fails_before_any_work(tmp_path: Path) -> None:
    args = ["train", "policy", "--simulator", "--batch", "6", "--models", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "must be a multiple of lists_per_context (4)" in result.output
    assert not (tmp_path / "policy").exists()
