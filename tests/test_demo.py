"""The demo end to end, at a small size: every step runs and the report is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from paretorec.cli import progress_bar, spinner
from paretorec.data.locations import CACHE_ENV
from paretorec.demo import DemoSize, run_demo
from paretorec.demo_models import DemoModelSize
from paretorec.serve.registry import ModelKind, ModelRegistry

REPO_CACHE = Path(__file__).resolve().parents[1] / ".cache"


@pytest.mark.network
def test_demo_writes_datasets_and_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(REPO_CACHE))  # the OBD wheel, downloaded once per clone
    console = Console(record=True, width=120)
    run_demo(
        tmp_path,
        seed=3,
        console=console,
        spinner=spinner,
        progress_bar=progress_bar,
        size=DemoSize(2_000, 300, 5_000),
        model_size=DemoModelSize(
            ranker_sessions=2_000,
            ranker_epochs=1,
            policy_items=300,
            policy_users=100,
            policy_sessions=512,
            policy_log_sessions=1_000,
            front_sessions=100,
        ),
    )
    report = tmp_path / "report"
    assert {p.name for p in report.iterdir()} >= {
        "README.md",
        "summary.json",
        "simulated-shop-stats.png",
        "obd-random-all-stats.png",
    }
    summary = json.loads((report / "summary.json").read_text())
    assert [row["position"] for row in summary["calibration"]] == [1, 2, 3]
    assert summary["shop"]["rows"]["items"] == 2_000
    assert summary["obd"]["rows"]["users"] == 10_000
    text = console.export_text()
    assert "CTR by position" in text and "sim / OBD" in text
    # the models: registered, promoted where the service reads the promoted version
    registry = ModelRegistry(tmp_path / "models")
    for kind in (ModelKind.RANKER, ModelKind.POLICY, ModelKind.INDEX, ModelKind.RECOMMENDER):
        assert registry.versions(kind) == ["v0001"], kind
        registry.load(kind)  # complete and verified
    assert summary["models"]["ranker"]["metrics"][0]["task"] == "click"
    tradeoffs = summary["models"]["policy"]["tradeoffs"]
    assert [row["weighting"] for row in tradeoffs] == [
        "mostly clicks", "mostly revenue", "mostly diversity"
    ]  # fmt: skip
    assert "one model, three trade-offs" in text and "curl -s localhost:8000/search" in text
