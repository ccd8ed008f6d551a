"""`paretorec tune` end to end on small real datasets: trials, resume, report, registry."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.serve.registry import ModelKind, ModelRegistry

runner = CliRunner()
REPORT = ("front.json", "front.png", "history.json", "history.png", "importances.json",
          "summary.json")  # fmt: skip


def _load(storage: Path, name: str) -> optuna.Study:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return optuna.load_study(
        study_name=name, storage=JournalStorage(JournalFileBackend(str(storage)))
    )


def _snapshot(study: optuna.Study) -> list[tuple[int, str, dict[str, object], object]]:
    return [(t.number, t.state.name, t.params, t.values) for t in study.trials]


def test_tune_recommender_resumes_registers_and_reports(chain_shop: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    args = ["tune", "recommender", "--data", str(chain_shop), "--models", str(models),
            "--epochs", "1", "--study", "chains", "--cache", str(tmp_path / "cache")]  # fmt: skip
    first = runner.invoke(app, [*args, "--trials", "2"])
    assert first.exit_code == 0, first.output
    assert "trial 0 complete" in first.output and "trial 1 " in first.output
    storage = models / "tune" / "chains" / "study.journal"
    assert storage.is_file()
    before = _snapshot(_load(storage, "chains"))
    assert len(before) == 2
    assert _load(storage, "chains").trials[0].user_attrs["default"] is True

    second = runner.invoke(app, [*args, "--trials", "4"])
    assert second.exit_code == 0, second.output
    assert "resuming study 'chains': 2 trial(s)" in second.output
    study = _load(storage, "chains")
    assert len(study.trials) == 4
    assert _snapshot(study)[:2] == before  # the first two untouched
    assert "trial 2 " in second.output and "trial 0 complete" not in second.output

    registry = ModelRegistry(models)
    assert registry.versions(ModelKind.RECOMMENDER) == ["v0001", "v0002"]
    manifest = registry.manifest(ModelKind.RECOMMENDER, "v0002")
    recorded = manifest.config["study"]
    assert recorded["name"] == "chains" and recorded["storage"] == str(storage)
    chosen = study.trials[recorded["trial"]]
    assert manifest.config["params"] == chosen.params
    assert recorded["objectives"] == pytest.approx(
        dict(zip(["ndcg@10", "coverage@10"], chosen.values, strict=True))
    )
    assert "test/ndcg@10" in manifest.metrics and "test/coverage@10" in manifest.metrics

    report = models / "tune" / "chains" / "report"
    for name in REPORT:
        assert (report / name).is_file(), name
    front = json.loads((report / "front.json").read_text())
    assert front["objectives"] == ["ndcg@10", "coverage@10"]
    completed = {t.number: t.values for t in study.trials if t.values is not None}
    reported = {r["number"]: [r["values"]["ndcg@10"], r["values"]["coverage@10"]]
                for r in front["trials"]}  # fmt: skip
    assert reported.keys() == completed.keys()
    for number, values in completed.items():
        assert reported[number] == pytest.approx(values)
    assert [r["number"] for r in front["trials"] if r["chosen"]] == [chosen.number]
    history = json.loads((report / "history.json").read_text())
    assert [r["number"] for r in history["trials"]] == [0, 1, 2, 3]
    summary = json.loads((report / "summary.json").read_text())
    assert set(summary["test"]) == {"tuned", "default"}
    assert summary["registered"] == "recommender v0002"


def test_tune_ranker_with_nsga2_registers_the_choice(logged_shop: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    result = runner.invoke(
        app,
        ["tune", "ranker", "--data", str(logged_shop), "--models", str(models), "--trials", "3",
         "--epochs", "2", "--no-text", "--sampler", "nsga2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "objectives (valid, maximized): click.auc, cart.auc, purchase.auc" in result.output
    folder, manifest = ModelRegistry(models).load(ModelKind.RANKER)
    assert manifest.config["study"]["name"] == "ranker"
    assert manifest.config["study"]["sampler"] == "nsga2"
    assert 0.5 < manifest.metrics["test/click.auc"] <= 1.0
    report = models / "tune" / "ranker" / "report"
    importances = json.loads((report / "importances.json").read_text())
    assert set(importances) == {"click.auc", "cart.auc", "purchase.auc"}
    summary = json.loads((report / "summary.json").read_text())
    assert set(summary["test"]["default"]) == {"click.auc", "cart.auc", "purchase.auc"}
    assert (folder / "ranker.json").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tune", "ranker", "--data", "x", "--trials", "0"], "--trials"),
        (["tune", "everything", "--data", "x", "--trials", "2"], "'everything'"),
        (["tune", "ranker", "--data", "x", "--trials", "2", "--backend", "spark"], "'spark'"),
        (["tune", "ranker", "--data", "x", "--trials", "2", "--workers", "0"], "--workers"),
    ],
)
def test_bad_arguments_are_refused(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tune", "policy", "--data", "x", "--trials", "2"], "tune policy learns in the simulator"),
        (["tune", "search", "--trials", "2"], "tune search needs --data DIR"),
        (["tune", "policy", "--trials", "2", "--objectives", "clicks,joy"], "unknown objective"),
    ],
)
def test_a_missing_or_needless_data_folder_fails_in_one_line(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = runner.invoke(app, [*args, "--models", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert result.output.count("error:") == 1 and message in result.output
    assert not (tmp_path / "tune").exists()


@pytest.mark.parametrize(
    ("stage", "message"),
    [("ranker", "has no events table"), ("recommender", "has no events")],
)
def test_a_dataset_without_events_fails_in_one_line(
    stage: str, message: str, items_only: Path, tmp_path: Path
) -> None:
    result = runner.invoke(
        app,
        ["tune", stage, "--data", str(items_only), "--trials", "2", "--models", str(tmp_path),
         "--no-text", "--cache", str(tmp_path / "cache")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.output.count("error:") == 1 and message in result.output
    assert not (tmp_path / "tune").exists()


POLICY_ARGS = ["--items", "200", "--users", "100", "--log-sessions", "400", "--sessions", "64",
               "--batch", "16", "--eval-sessions", "60"]  # fmt: skip


def test_tune_policy_in_the_simulator_registers_the_knee_and_resumes(tmp_path: Path) -> None:
    models = tmp_path / "models"
    args = ["tune", "policy", "--models", str(models), *POLICY_ARGS]
    first = runner.invoke(app, [*args, "--trials", "2"])
    assert first.exit_code == 0, first.output
    assert "objectives (valid, maximized): hypervolume, clicks@w, revenue@w, diversity@w" in (
        first.output
    )
    storage = models / "tune" / "policy" / "study.journal"
    study = _load(storage, "policy")
    assert len(study.trials) == 2 and study.trials[0].user_attrs["default"] is True
    assert study.trials[0].params["ppo_clip"] == 0.2  # train policy --algorithm ppo's
    assert study.user_attrs["data"].startswith("simulator(items=200, users=100, seed=0")
    folder, manifest = ModelRegistry(models).load(ModelKind.POLICY)
    recorded = manifest.config["study"]
    chosen = study.trials[recorded["trial"]]
    assert manifest.config["params"] == chosen.params
    assert recorded["objectives"]["hypervolume"] == pytest.approx(chosen.values[0])
    assert manifest.metrics["test/hypervolume"] > 0
    assert (folder / "policy.json").is_file()
    summary = json.loads((models / "tune" / "policy" / "report" / "summary.json").read_text())
    assert set(summary["test"]["default"]) == {"hypervolume", "clicks@w", "revenue@w",
                                               "diversity@w"}  # fmt: skip
    # the same shop, more trials: resumes; another shop: refused
    again = runner.invoke(app, [*args, "--trials", "3"])
    assert again.exit_code == 0 and "resuming study 'policy': 2 trial(s)" in again.output
    other = runner.invoke(app, [*args[:-2], "--eval-sessions", "80", "--trials", "4"])
    assert other.exit_code == 1 and "choose another --study" in other.output


ITEMS = """item_id,title,brand,price
d1,cordless drill driver kit,DEWALT,129.0
d2,cordless hammer drill,Ryobi,99.0
d3,drill bit set titanium,DEWALT,19.0
s1,circular saw 7-1/4 in.,Milwaukee,149.0
s2,hand saw fine cut,Stanley,19.0
t1,bath towel set cotton white,Home,24.0
t2,beach towel striped,Home,15.0
p1,interior paint eggshell white,Behr,34.0
p2,exterior paint flat gray,Behr,159.0
l1,led light bulb soft white,Cree,9.0
"""
QUERIES = ("query_id,text\nq1,cordless drill\nq2,white towel\nq3,circular saw\n"
           "q4,gray paint\nq5,drill bits\nq6,light bulb\n")  # fmt: skip
JUDGMENTS = """query_id,item_id,grade,split
q1,d1,3,train
q1,d2,3,train
q2,t1,3,train
q3,s1,3,valid
q3,s2,1,valid
q5,d3,3,valid
q4,p2,3,test
q4,p1,1,test
q6,l1,3,test
"""


@pytest.fixture
def judged_shop(tmp_path: Path) -> Path:
    folder = tmp_path / "judged"
    folder.mkdir()
    (folder / "items.csv").write_text(ITEMS)
    (folder / "queries.csv").write_text(QUERIES)
    (folder / "judgments.csv").write_text(JUDGMENTS)
    return folder


def test_tune_search_registers_a_servable_index(judged_shop: Path, tmp_path: Path) -> None:
    from paretorec.serve.index_version import read_index

    models = tmp_path / "models"
    result = runner.invoke(
        app,
        ["tune", "search", "--data", str(judged_shop), "--models", str(models), "--trials", "3",
         "--cache", str(tmp_path / "cache")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "objectives (valid, maximized): ndcg@10, recall@100" in result.output
    study = _load(models / "tune" / "search" / "study.journal", "search")
    assert study.trials[0].params["fusion.lexical_weight"] == 0.7  # paretorec index's
    registry = ModelRegistry(models)
    manifest = registry.manifest(ModelKind.INDEX, registry.versions(ModelKind.INDEX)[-1])
    chosen = study.trials[manifest.config["study"]["trial"]]
    assert manifest.config["params"] == chosen.params
    assert set(manifest.config["test"]) == {"ndcg@10", "recall@100"}
    bundle = read_index(registry.root / "index" / manifest.version)
    assert bundle.retriever.depth == chosen.params["depth"]
    assert bundle.retriever.fusion.weight == pytest.approx(chosen.params["fusion.lexical_weight"])
    assert len(bundle.catalog) == 10
