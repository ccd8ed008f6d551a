"""The command line: exit codes, one-line errors, and the files each command writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from paretorec.cli import app

runner = CliRunner()
Folder = Callable[[dict[str, str]], Path]

GOOD = {
    "items.csv": "item_id,title,price,category\na,Drill,10,Tools>Power\nb,Saw,20,Tools>Hand\n",
    "events.csv": "user_id,item_id,event,position\nu1,a,impression,1\nu1,a,click,1\nu1,b,impression,2\n",
}


def test_help_on_every_command() -> None:
    for args in (
        [],
        ["data"],
        ["data", "validate"],
        ["data", "stats"],
        ["data", "split"],
        ["data", "convert"],
        ["data", "fetch"],
        ["data", "list"],
        ["simulate"],
        ["demo"],
    ):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)
        assert "Usage" in result.output


def test_validate_clean_folder(write_folder: Folder) -> None:
    result = runner.invoke(app, ["data", "validate", str(write_folder(GOOD))])
    assert result.exit_code == 0, result.output
    assert "follows the contract" in result.output


def test_validate_reports_all_problems_quarantines_and_exits_1(
    write_folder: Folder, tmp_path: Path
) -> None:
    folder = write_folder(
        {**GOOD, "events.csv": GOOD["events.csv"] + "u2,zz,click,1\nu2,a,hover,0\n"}
    )
    quarantine = tmp_path / "bad.csv"
    clean = tmp_path / "clean"
    result = runner.invoke(
        app,
        [
            "data",
            "validate",
            str(folder),
            "--quarantine",
            str(quarantine),
            "--clean-out",
            str(clean),
        ],
    )
    assert result.exit_code == 1
    assert "events.csv row 4: item_id 'zz' is not in items" in result.output
    assert "events.csv row 5: unknown event 'hover'" in result.output
    assert "events.csv row 5: position 0 is below 1" in result.output
    assert pl.read_csv(quarantine)["row"].to_list() == [4, 5]
    assert pl.read_parquet(clean / "events.parquet").height == 3


def test_missing_folder_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "stats", str(tmp_path / "missing")])
    assert result.exit_code == 1 and result.stdout == ""
    # Off a terminal the spinner logs a start and a failed line; the reason is one last line.
    lines = result.stderr.splitlines()
    assert lines[-1] == f"error: {tmp_path / 'missing'}: no such dataset folder"
    assert [line for line in lines if "error" in line or "Traceback" in line] == lines[-1:]


def test_stats_writes_json_and_plot(write_folder: Folder, tmp_path: Path) -> None:
    out_json, out_png = tmp_path / "stats.json", tmp_path / "stats.png"
    result = runner.invoke(
        app,
        ["data", "stats", str(write_folder(GOOD)), "--json", str(out_json), "--plot", str(out_png)],
    )
    assert result.exit_code == 0, result.output
    stats = json.loads(out_json.read_text())
    assert stats["ctr_by_position"] == [
        {"position": 1, "impressions": 1, "clicks": 1, "ctr": 1.0},
        {"position": 2, "impressions": 1, "clicks": 0, "ctr": 0.0},
    ]
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stats_refuses_invalid_data(write_folder: Folder) -> None:
    result = runner.invoke(
        app, ["data", "stats", str(write_folder({"items.csv": "item_id,title,price\na,A,-1\n"}))]
    )
    assert result.exit_code == 1
    assert "negative price" in result.output


def test_split_writes_split_columns(write_folder: Folder, tmp_path: Path) -> None:
    out = tmp_path / "split"
    result = runner.invoke(app, ["data", "split", str(write_folder(GOOD)), str(out)])
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out / "events.parquet")["split"].to_list() == ["train", "valid", "test"]


@pytest.mark.parametrize("name", ["nope", "OBD"])
def test_unknown_dataset_names_are_clear_errors(name: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "convert", name, str(tmp_path / "out")])
    assert result.exit_code == 1
    assert f"unknown dataset '{name}'" in result.output


def test_simulate_writes_a_dataset_that_validates(tmp_path: Path) -> None:
    out = tmp_path / "shop"
    args = ["simulate", str(out), "--items", "500", "--users", "100", "--sessions", "300"]
    result = runner.invoke(app, [*args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "items.csv",
        "users.csv",
        "queries.csv",
        "judgments.csv",
        "events.csv",
    }
    assert pl.read_csv(out / "items.csv").height == 500
    checked = runner.invoke(app, ["data", "validate", str(out)])
    assert checked.exit_code == 0, checked.output


def test_simulate_refuses_an_empty_catalog(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", str(tmp_path / "x"), "--items", "0"])
    assert result.exit_code != 0
    assert "--items" in result.output


def test_convert_a_real_dataset_then_validate_it(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "taobao"
    result = runner.invoke(
        app, ["data", "convert", "taobao", str(out), "--source", str(shared_data / "taobao")]
    )
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out / "events.parquet").height == 10_000
    checked = runner.invoke(app, ["data", "validate", str(out)])
    assert checked.exit_code == 0, checked.output


def test_convert_from_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["data", "convert", "homedepot", str(tmp_path / "o"), "--source", str(tmp_path / "none")],
    )
    assert result.exit_code == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("error: ")
    assert [line for line in lines if "error" in line or "Traceback" in line] == lines[-1:]


def test_evaluate_ope_writes_a_report(tmp_path: Path) -> None:
    from paretorec.data.io import write_dataset
    from paretorec.simulate import WorldConfig, simulate_dataset

    data = tmp_path / "shop"
    write_dataset(
        simulate_dataset(30, 200, 2_000, seed=2, list_size=3, config=WorldConfig.lively()), data
    )
    out = tmp_path / "report"
    args = [
        "evaluate",
        "ope",
        str(data),
        "--target",
        "greedy-ctr",
        "--out",
        str(out),
        "--n-bootstrap",
        "50",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    estimates = json.loads((out / "ope.json").read_text())
    assert estimates["target"] == "greedy-ctr"
    bad = runner.invoke(app, [*args[:3], "--target", "best"])
    assert bad.exit_code == 1 and "--target must be one of" in bad.output
