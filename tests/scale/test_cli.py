"""`paretorec recommend-all`: every shopper's list, the same in one process and on Ray."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.retrieve.recommend import Recommender, SplitSequences
from paretorec.serve.registry import ModelKind, ModelRegistry

runner = CliRunner()


@pytest.fixture
def models(tmp_path: Path, recommender: Recommender, chain_folder: Path) -> Path:
    registry = ModelRegistry(tmp_path / "models")
    with registry.stage(ModelKind.RECOMMENDER, data=chain_folder, config={}) as staged:
        recommender.save(staged.folder)
    return registry.root


def _run(*args: str) -> str:
    result = runner.invoke(app, ["recommend-all", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_every_shopper_gets_her_list_from_all_her_events(
    models: Path, chain_folder: Path, chains: SplitSequences, recommender: Recommender,
    tmp_path: Path,
) -> None:  # fmt: skip
    out = tmp_path / "lists.parquet"
    assert "wrote 150 lists of 5" in _run("--data", str(chain_folder), "--out", str(out),
                                         "--models", str(models), "--k", "5")  # fmt: skip
    lists = pl.read_parquet(out)
    assert lists.columns == ["user_id", "rank", "item_id", "source"] and lists.height == 750
    first = lists.filter(pl.col("user_id") == chains.user_ids[0]).sort("rank")
    history = np.concatenate([chains.train[0], chains.valid[0], chains.test[0]])
    items, _ = recommender.rank_many([history], k=5)
    assert first["item_id"].to_list() == [chains.item_ids[i] for i in items[0]]
    assert not set(first["item_id"]) & {chains.item_ids[i] for i in history}


@pytest.mark.slow
@pytest.mark.usefixtures("ray_cluster")
def test_ray_writes_the_same_lists(models: Path, chain_folder: Path, tmp_path: Path) -> None:
    common = ["--data", str(chain_folder), "--models", str(models), "--k", "5"]
    _run(*common, "--out", str(tmp_path / "local.csv"))
    _run(*common, "--out", str(tmp_path / "ray.csv"), "--backend", "ray", "--block-size", "40")
    assert pl.read_csv(tmp_path / "ray.csv").equals(pl.read_csv(tmp_path / "local.csv"))


def test_bad_output_and_missing_model_fail_in_one_line(chain_folder: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["recommend-all", "--data", str(chain_folder), "--out", "x.txt"])
    assert result.exit_code == 1 and "write .parquet or .csv" in result.output
    result = runner.invoke(
        app,
        ["recommend-all", "--data", str(chain_folder), "--out", str(tmp_path / "a.csv"),
         "--models", str(tmp_path / "none")],
    )  # fmt: skip
    assert result.exit_code == 1 and result.output.count("error:") == 1
