"""`eval search --runs DIR`: TREC run files that an outside judge scores as we do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytrec_eval
from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.cli._runs import run_tag
from paretorec.evaluate.trec_runs import run_file_name
from tests.retrieve.test_pipeline_cli import ITEMS, JUDGMENTS, QUERIES

runner = CliRunner()


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "items.csv").write_text(ITEMS)
    (folder / "queries.csv").write_text(QUERIES)
    (folder / "judgments.csv").write_text(JUDGMENTS)
    return folder


def read_run(path: Path) -> dict[str, dict[str, float]]:
    run: dict[str, dict[str, float]] = {}
    for line in path.read_text().splitlines():
        query, q0, item, _rank, score, _method = line.split(" ")
        assert q0 == "Q0"
        run.setdefault(query, {})[item] = float(score)
    return run


def test_pytrec_eval_scores_the_run_files_as_eval_search_does(shop: Path, tmp_path: Path) -> None:
    runs, out = tmp_path / "runs", tmp_path / "search.json"
    args = ["evaluate", "search", "--data", str(shop), "--json", str(out)]
    args += ["--cache", str(tmp_path / "cache"), "--runs", str(runs), "--char-ngrams"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    reported = {row["method"]: row for row in json.loads(out.read_text())["metrics"]}
    assert {"bm25.run", "dense.run", "hybrid.run", "char_n-grams.run"} <= {
        p.name for p in runs.iterdir()
    }
    assert {"char n-grams", "hybrid + char n-grams"} <= set(reported)
    assert run_tag("hybrid + char n-grams") == "hybrid+char_n-grams"
    assert len(list(runs.iterdir())) == len(reported)
    # our NDCG gains are 2^grade - 1, trec_eval's the grade itself: give it 2^g - 1
    qrels: dict[str, dict[str, int]] = {}
    for line in JUDGMENTS.splitlines()[1:]:
        query, item, grade, split = line.split(",")
        if split == "test":
            qrels.setdefault(query, {})[item] = 2 ** int(grade) - 1
    judge = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut_10", "recall_100"})
    for method, row in reported.items():
        tag = run_tag(method)
        lines = (runs / run_file_name(tag)).read_text().splitlines()
        assert {line.split(" ")[0] for line in lines} == {"q3", "q4"}
        assert all(line.endswith(f" {tag}") for line in lines)
        for query in ("q3", "q4"):
            ranks = [int(line.split(" ")[3]) for line in lines if line.startswith(query + " ")]
            assert ranks == list(range(1, len(ranks) + 1))
        scored = judge.evaluate(read_run(runs / run_file_name(tag)))
        ndcg = sum(v["ndcg_cut_10"] for v in scored.values()) / len(scored)
        recall = sum(v["recall_100"] for v in scored.values()) / len(scored)
        assert ndcg == pytest.approx(row["ndcg@10"], abs=1e-9)
        assert recall == pytest.approx(row["recall@100"], abs=1e-9)
