"""The recommender in the robustness report: click spam hurts today's recommender and the
actor-caps defence holds it; the CLI runs an event scenario on a dataset folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.robustness import Defence, Defences
from paretorec.robustness.events import CLICK_SPAM
from paretorec.robustness.recommend_eval import RecommendEvaluator
from paretorec.robustness.report import run_robustness, write_report
from paretorec.robustness.scenarios import Target
from paretorec.types import Catalog, Dataset, Events

N_ITEMS = 60


def chains(users: int = 200, seed: int = 0) -> Dataset:
    """Shoppers walking runs of neighbouring items (low indices are the best sellers)."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(users):
        item = int(min(rng.geometric(0.1), 50))
        for _ in range(int(rng.integers(4, 7))):
            rows.append({"user_id": f"u{user:03d}", "item_id": f"i{item % N_ITEMS:02d}"})
            item += int(rng.integers(1, 4))  # the next item: one of three neighbours
    frame = pl.DataFrame(rows).with_columns(event=pl.lit("purchase"))
    items = [f"i{n:02d}" for n in range(N_ITEMS)]
    catalog = Catalog(pl.DataFrame({"item_id": items, "title": items}))
    return Dataset(items=catalog, events=Events(frame), name="chains")


def test_spam_hurts_today_and_the_caps_hold() -> None:
    data = chains()
    evaluate = RecommendEvaluator(seed=0)
    caps = Defences.of([Defence.ACTOR_CAPS])
    clean = {d.label: evaluate(data, d).mean("ndcg@10") for d in (Defences.none(), caps)}
    spammed = CLICK_SPAM.apply(data, 2.0, seed=0)
    stressed = {d.label: evaluate(spammed, d).mean("ndcg@10") for d in (Defences.none(), caps)}
    assert stressed["none"] < 0.7 * clean["none"]
    # capped, the five bots count as five shoppers: a dent, not a takeover
    assert stressed["actor-caps"] >= 0.9 * clean["actor-caps"]
    assert stressed["actor-caps"] > stressed["none"] + 0.1
    assert evaluate(spammed, caps).units == evaluate(data, caps).units  # bots are not measured


def test_the_report_and_the_cli_run_an_event_scenario(tmp_path: Path) -> None:
    data = chains(120)
    report = run_robustness(
        data,
        [CLICK_SPAM],
        {Target.RECOMMEND: RecommendEvaluator(seed=0)},
        [Defences.none(), Defences.of([Defence.ACTOR_CAPS])],
        strengths=[0.0, 0.5],
        seed=0,
    )
    assert any(p.name == "report.md" for p in write_report(report, tmp_path / "report"))
    folder = tmp_path / "shop"
    folder.mkdir()
    data.items.frame.write_csv(folder / "items.csv")
    assert data.events is not None
    data.events.frame.write_csv(folder / "events.csv")
    result = CliRunner().invoke(
        app,
        [
            "robustness",
            "--data",
            str(folder),
            "--scenarios",
            "click-spam",
            "--strengths",
            "0,0.5",
            "--defences",
            "actor-caps",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "click-spam" in (tmp_path / "out" / "report.md").read_text()


def test_too_few_users_is_a_clear_error() -> None:
    tiny = Dataset(
        items=Catalog(pl.DataFrame({"item_id": ["a", "b"], "title": ["a", "b"]})),
        events=Events(
            pl.DataFrame({"user_id": ["u"] * 3, "item_id": ["a", "b", "a"], "event": ["click"] * 3})
        ),
        name="tiny",
    )
    with pytest.raises(ValueError, match="fewer than 2 users"):
        RecommendEvaluator()(tiny, Defences.none())
