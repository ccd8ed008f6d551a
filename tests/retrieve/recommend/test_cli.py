"""`paretorec train recommender`, `recommend` and `eval recommend` on a tiny shop."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from paretorec.cli import app
from tests.retrieve.recommend.conftest import write_shop

runner = CliRunner()
TITLES = [
    "red racing game",
    "racing wheel",
    "racing pedals",
    "puzzle game",
    "puzzle book",
    "chess set",
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    baskets = [
        ["i0", "i1", "i2", "i5"] if user % 2 == 0 else ["i3", "i4", "i5", "i0"]
        for user in range(12)
    ]
    return write_shop(tmp_path_factory.mktemp("shop"), TITLES, baskets)


def test_eval_recommend_writes_metrics(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "metrics.json"
    result = runner.invoke(
        app,
        ["eval", "recommend", "--data", str(shop), "--json", str(out), "--epochs", "1",
         "--cache", str(tmp_path / "cache")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    models = {"popularity", "covisitation", "two-tower", "sequential", "merge"}
    assert (
        models
        <= set(metrics)
        <= models
        | {"merge (quotas)"}
        | {
            f"{name} [{part}]"
            for name in (*models, "merge (quotas)")
            for part in ("cold", "tail 1-5")
        }
    )
    # i5 (the test item of the six users of the first chain) is never in train: cold
    assert metrics["merge [cold]"]["users"] == 6
    # six items, histories of up to three: K is capped at 3
    assert all(0.0 <= row["recall@3"] <= 1.0 for row in metrics.values())


def test_eval_recommend_with_the_learned_merge(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "metrics.json"
    result = runner.invoke(
        app,
        ["eval", "recommend", "--data", str(shop), "--json", str(out), "--epochs", "1",
         "--merge", "learned", "--cache", str(tmp_path / "cache")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "learned merge NDCG@10" in result.output and "the learned merge ranks" in result.output
    metrics = json.loads(out.read_text())
    assert {"merge", "merge (quotas)"} <= set(metrics)


def test_train_then_recommend(shop: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    cache = str(tmp_path / "cache")
    trained = runner.invoke(
        app,
        ["train", "recommender", "--data", str(shop), "--models", str(models), "--epochs", "1",
         "--model", "covisitation", "--cache", cache],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    shown = runner.invoke(
        app, ["recommend", str(shop), "--session", "i3", "--k", "2", "--models", str(models)]
    )
    assert shown.exit_code == 0, shown.output
    assert "puzzle book" in shown.output and "covisitation" in shown.output
    stranger = runner.invoke(
        app, ["recommend", str(shop), "--user", "nobody", "--k", "3", "--models", str(models)]
    )
    assert stranger.exit_code == 0, stranger.output
    assert "no history" in stranger.output and "popularity" in stranger.output


def test_recommend_without_a_model_fails_cleanly(shop: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["recommend", str(shop), "--user", "u1", "--models", str(tmp_path)])
    assert result.exit_code == 1
    no_request = runner.invoke(app, ["recommend", str(shop), "--models", str(tmp_path)])
    assert no_request.exit_code == 1


def test_id_only_models_encode_only_the_popular_pool(shop: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    trained = runner.invoke(
        app,
        ["train", "recommender", "--data", str(shop), "--models", str(models),
         "--model", "popularity", "--cache", str(tmp_path / "cache")],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    assert "encoding the 6 most popular of 6 items only" in trained.output
    manifest = json.loads(next(models.rglob("manifest.json")).read_text())
    assert manifest["config"]["text_vectors"] == "popular"
    refused = runner.invoke(
        app,
        ["train", "recommender", "--data", str(shop), "--models", str(models),
         "--model", "two-tower", "--text-vectors", "popular"],
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "two-tower learn from every item's text: use --text-vectors all" in refused.output


def test_recommend_a_batch_at_one_load_and_collapse_duplicates(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    folder.mkdir()
    titles = [*TITLES, "Racing-Wheel"]  # i6 lists i1's product again
    ids = [f"i{n}" for n in range(len(titles))]
    pl.DataFrame({"item_id": ids, "title": titles}).write_csv(folder / "items.csv")
    chain = ["i0", "i1", "i2", "i5", "i3", "i4", "i6"]
    users = [u for u in ("u0", "u1") for _ in chain]
    pl.DataFrame(
        {"user_id": users, "item_id": chain * 2, "event": ["purchase"] * len(users)}
    ).write_csv(folder / "events.csv")
    models = tmp_path / "models"
    trained = runner.invoke(
        app,
        ["train", "recommender", "--data", str(folder), "--models", str(models),
         "--model", "popularity", "--cache", str(tmp_path / "cache")],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    batch = tmp_path / "asks.jsonl"
    batch.write_text('nobody\n{"session": ["i0"], "k": 2}\n')
    args = ["recommend", str(folder), "--models", str(models), "--k", "7"]
    shown = runner.invoke(app, [*args, "--batch", str(batch)])
    assert shown.exit_code == 0, shown.output
    assert shown.output.count("loading") <= 2  # loaded once for both
    assert "user 'nobody': no history, so popular-and-diverse items" in shown.output
    assert "1 duplicate(s) collapsed" in shown.output and "session i0" in shown.output
    rows = [line for line in shown.output.splitlines() if line.startswith("│")]
    assert len(rows) == 6 + 2  # nobody: seven items, one product twice; the session: two
    kept = runner.invoke(app, [*args, "--user", "nobody", "--keep-duplicates"])
    assert len([line for line in kept.output.splitlines() if line.startswith("│")]) == 7
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"k": 3}\n')
    refused = runner.invoke(app, [*args, "--batch", str(bad)])
    assert refused.exit_code == 1
    assert 'line 1: give "user", "session" or both' in refused.output
    both = runner.invoke(app, [*args, "--batch", str(bad), "--user", "u0"])
    assert both.exit_code == 1 and "not both" in both.output


def test_eval_recommend_carves_valid_items_where_the_split_has_none(
    shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import paretorec.cli._recommend as cli_recommend
    from paretorec.retrieve.recommend.learned_merge import ItemStats

    fitted: list[tuple[object, object]] = []
    fit = cli_recommend._fit

    def recording(sequences, *args, **kwargs):  # type: ignore[no-untyped-def]
        recommender = fit(sequences, *args, **kwargs)
        fitted.append((sequences, recommender))
        return recommender

    monkeypatch.setattr(cli_recommend, "_fit", recording)
    folder = tmp_path / "split_shop"
    folder.mkdir()
    (folder / "items.csv").write_text((shop / "items.csv").read_text())
    events = pl.read_csv(shop / "events.csv")
    last = pl.int_range(pl.len()).over("user_id") == pl.len().over("user_id") - 1
    events.with_columns(
        split=pl.when(last).then(pl.lit("test")).otherwise(pl.lit("train"))
    ).write_csv(folder / "events.csv")
    out = tmp_path / "metrics.json"
    result = runner.invoke(
        app,
        ["eval", "recommend", "--data", str(folder), "--json", str(out), "--epochs", "1",
         "--merge", "learned", "--cache", str(tmp_path / "cache")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "the split has no valid items" in result.output
    assert "merge (quotas)" in json.loads(out.read_text())
    # the merge's item statistics are the whole train part's, as the generators refitted
    sequences, recommender = fitted[-1]
    whole = ItemStats.from_sequences(sequences.train, sequences.n_items, recent_steps=5)  # type: ignore[attr-defined]
    learned = recommender.learned  # type: ignore[attr-defined]
    assert learned is not None
    assert np.array_equal(learned.stats.counts, whole.counts)


def test_the_refit_without_valid_items_runs_the_best_epochs_of_the_carved_fit() -> None:
    from types import SimpleNamespace

    from paretorec.cli._recommend import best_epochs
    from paretorec.retrieve.recommend import CoVisitation, Sequential, TwoTower
    from paretorec.retrieve.recommend._neural import TrainingLog

    tower, sequential = TwoTower(epochs=30), Sequential(epochs=30)
    tower.training_log = TrainingLog("ndcg", 10, 30, values=[0.1, 0.3, 0.2], best_epoch=1)
    sequential.training_log = TrainingLog("ndcg", 10, 30, values=[0.1] * 9, best_epoch=6)
    both = SimpleNamespace(generators={"a": tower, "b": sequential, "c": CoVisitation()})
    assert best_epochs(both, cap=30) == 7  # type: ignore[arg-type]
    assert best_epochs(both, cap=5) == 5  # type: ignore[arg-type]
    unvalidated = TwoTower(epochs=30)
    unvalidated.training_log = TrainingLog("ndcg", 10, 30)  # no valid set: best_epoch -1
    assert best_epochs(SimpleNamespace(generators={"a": unvalidated}), cap=30) == 30  # type: ignore[arg-type]
    assert best_epochs(SimpleNamespace(generators={"c": CoVisitation()}), cap=12) == 12  # type: ignore[arg-type]
