"""The search commands end to end on a tiny catalog, with the real bundled encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paretorec.cli import app

runner = CliRunner()

ITEMS = """item_id,title,price
d1,DEWALT 18-Volt cordless drill driver kit,129.0
d2,Ryobi 18V cordless hammer drill,99.0
s1,Milwaukee circular saw 7-1/4 in.,149.0
s2,Hand saw 15 in. fine cut,19.0
t1,Bath towel set cotton white,24.0
t2,Beach towel striped large,15.0
p1,Interior paint eggshell white 1 gal.,34.0
p2,Exterior paint flat gray 5 gal.,159.0
"""
QUERIES = "query_id,text\nq1,cordless drill\nq2,white towel\nq3,circular saw\nq4,gray paint\n"
JUDGMENTS = """query_id,item_id,grade,split
q1,d1,3,train
q1,d2,3,train
q2,t1,3,train
q2,t2,2,train
q3,s1,3,test
q3,s2,1,test
q4,p2,3,test
q4,p1,1,test
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "items.csv").write_text(ITEMS)
    (folder / "queries.csv").write_text(QUERIES)
    (folder / "judgments.csv").write_text(JUDGMENTS)
    return folder


def test_index_then_search_finds_the_product(shop: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    cache = ["--cache", str(tmp_path / "cache")]
    built = runner.invoke(app, ["index", str(shop), "--out", str(index), *cache])
    assert built.exit_code == 0, built.output
    found = runner.invoke(
        app, ["search", str(shop), "circular saw", "--k", "3", "--index", str(index)]
    )
    assert found.exit_code == 0, found.output
    rows = [line for line in found.output.splitlines() if line.startswith("│")]
    assert "s1" in rows[0]


def test_search_errors_are_one_line(shop: Path, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["search", str(shop), "drill", "--index", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "no index; build one with" in missing.output
    empty = runner.invoke(app, ["search", str(shop), "   ", "--index", str(tmp_path)])
    assert empty.exit_code == 1 and "the query is empty" in empty.output


def test_eval_search_fits_on_train_and_reports_test(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "search.json"
    args = [
        "evaluate",
        "search",
        "--data",
        str(shop),
        "--json",
        str(out),
        "--cache",
        str(tmp_path / "cache"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["n_train_queries"] == 2 and report["n_test_queries"] == 2
    assert report["split"] == "from the data"
    methods = {row["method"]: row for row in report["metrics"]}
    assert set(methods) == {"BM25", "dense", "hybrid", "hybrid + LTR"}
    # no valid queries in the data: the re-ranker stops early on train queries carved out
    assert report["second_stage"]["valid_queries"] == "carved from train"
    # Both test queries name their best product in words BM25 matches: it ranks it first.
    assert methods["BM25"]["recall@100"] == 1.0
    assert all(0.0 <= row["ndcg@10"] <= 1.0 for row in methods.values())


def test_eval_search_needs_judgments(tmp_path: Path) -> None:
    folder = tmp_path / "items-only"
    folder.mkdir()
    (folder / "items.csv").write_text(ITEMS)
    result = runner.invoke(
        app, ["evaluate", "search", "--data", str(folder), "--cache", str(tmp_path / "c")]
    )
    assert result.exit_code == 1 and "needs the queries and judgments" in result.output


def test_train_encoder_checks_on_valid_queries(shop: Path, tmp_path: Path) -> None:
    judgments = (
        JUDGMENTS.replace("q2,t1,3,train", "q2,t1,3,valid")
        .replace("q2,t2,2,train", "q2,t2,2,valid")
        .replace("q4,p2,3,test", "q4,p2,3,train")  # a batch needs two train queries
    )
    (shop / "judgments.csv").write_text(judgments)
    out = tmp_path / "tuned"
    args = [
        "train",
        "encoder",
        "--data",
        str(shop),
        "--out",
        str(out),
        "--steps",
        "2",
        "--batch-size",
        "2",
    ]
    result = runner.invoke(app, [*args, "--cache", str(tmp_path / "cache")])
    check = json.loads((out / "paretorec-finetune.json").read_text())
    assert check["n_pairs"] == 3  # q1's two items and q4's p2, graded 3 in train
    assert (out / "model.safetensors").is_file()
    # Exit 0 exactly when the valid queries improved; otherwise one line saying so.
    assert (result.exit_code == 0) == check["helped"], result.output
    if not check["helped"]:
        assert "did not help on the valid queries" in result.output


def test_eval_search_on_a_simulated_catalog(tmp_path: Path) -> None:
    from paretorec.data.io import write_dataset
    from paretorec.simulate import simulate_dataset

    shop = tmp_path / "simulated"
    write_dataset(simulate_dataset(600, 200, 3_000, seed=5), shop)
    out = tmp_path / "search.json"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "search",
            "--data",
            str(shop),
            "--json",
            str(out),
            "--cache",
            str(tmp_path / "c"),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["split"] == "by query, seeded" and report["n_test_queries"] > 0
    bm25 = next(row for row in report["metrics"] if row["method"] == "BM25")
    # Queries are built from the intent's leaf words, which titles carry: BM25 finds them.
    assert bm25["ndcg@10"] > 0.3
