"""`paretorec audit` on a simulated shop's log (a dataset folder, and a service-style
events folder with --catalog), and its one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.data.formats import FileFormat
from paretorec.data.io import write_dataset
from paretorec.simulate import simulate_dataset

runner = CliRunner()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shop")
    write_dataset(simulate_dataset(200, 60, 300, seed=1), folder, FileFormat.CSV)
    return folder


def test_audit_of_a_dataset_log_writes_the_report(shop: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"caps": [{"name": "cap", "field": "seller_id", "most": 10}]}))
    out = tmp_path / "report"
    done = runner.invoke(app, ["audit", str(shop), "--rules", str(rules), "--out", str(out)])
    assert done.exit_code == 0, done.output
    report = json.loads((out / "audit.json").read_text())
    assert report["n_lists"] == 300 and report["violations"] == {"blocked or hidden": 0, "cap": 0}
    assert [g["by"] for g in report["groups"]] == ["seller_id", "brand", "new"]
    sellers = report["groups"][0]["rows"]
    assert sum(r["exposure_share"] for r in sellers) == pytest.approx(1.0)
    assert len(report["groups"][0]["over_time"]) == 10
    assert (out / "audit.png").stat().st_size > 10_000 and "# Fairness audit" in (
        out / "audit.md"
    ).read_text()


def test_a_service_events_folder_needs_the_catalog(shop: Path, tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    shutil.copy(shop / "events.csv", events / "events.csv")
    refused = runner.invoke(app, ["audit", str(events), "--out", str(tmp_path / "r")])
    assert refused.exit_code == 1 and "give --catalog" in refused.output
    done = runner.invoke(
        app,
        ["audit", str(events), "--catalog", str(shop / "items.csv"), "--group", "seller",
         "--out", str(tmp_path / "r")],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert json.loads((tmp_path / "r" / "audit.json").read_text())["n_lists"] == 300


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "give an events folder or --models"),
        (["{shop}", "--models", "m"], "give an events folder or --models"),
        (["{shop}", "--group", "colour"], "unknown group"),
        (["{missing}"], "not a folder"),
        (["{shop}", "--rules", "{missing}"], "No such file"),
    ],
)
def test_bad_input_fails_in_one_line(
    shop: Path, tmp_path: Path, args: list[str], says: str
) -> None:
    filled = [a.format(shop=shop, missing=tmp_path / "nope") for a in args]
    done = runner.invoke(app, ["audit", *filled, "--out", str(tmp_path / "r")])
    assert done.exit_code == 1 and says in done.output
