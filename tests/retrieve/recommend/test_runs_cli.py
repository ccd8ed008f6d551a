"""`eval recommend --runs DIR`: TREC run files per generator and merge, scored by
pytrec_eval as `eval recommend` scores the lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytrec_eval
from typer.testing import CliRunner

from paretorec.cli import app
from tests.retrieve.recommend.conftest import write_shop

runner = CliRunner()
TITLES = ["red racing game", "racing wheel", "racing pedals", "puzzle game", "puzzle book"]
TITLES += ["chess set"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    baskets = [
        ["i0", "i1", "i2", "i5"] if user % 3 else ["i3", "i4", "i5", "i1"] for user in range(12)
    ]
    return write_shop(tmp_path_factory.mktemp("shop"), TITLES, baskets)


def test_run_files_score_as_eval_recommend_reports(shop: Path, tmp_path: Path) -> None:
    runs, out = tmp_path / "runs", tmp_path / "metrics.json"
    result = runner.invoke(
        app,
        ["eval", "recommend", "--data", str(shop), "--json", str(out), "--model", "covisitation",
         "--cache", str(tmp_path / "cache"), "--runs", str(runs)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert sorted(p.name for p in runs.iterdir()) == [
        "covisitation.run",
        "merge.run",
        "popularity.run",
    ]
    # every user's last item is her test item (leave-last-out)
    qrels = {f"u{u}": {"i5" if u % 3 else "i1": 1} for u in range(12)}
    judge = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut_3", "recall_3"})
    for method in ("popularity", "covisitation", "merge"):
        lines = (runs / f"{method}.run").read_text().splitlines()
        run: dict[str, dict[str, float]] = {}
        for line in lines:
            user, q0, item, _rank, score, name = line.split(" ")
            assert (q0, name) == ("Q0", method)
            run.setdefault(user, {})[item] = float(score)
        # six items, histories of three: three places left, ranks 1..3, score k + 1 - rank
        assert sorted(run) == sorted(qrels)
        assert all(len(items) == 3 for items in run.values())
        assert [line.split(" ")[3:5] for line in lines[:3]] == [
            ["1", "3.0"],
            ["2", "2.0"],
            ["3", "1.0"],
        ]
        scored = judge.evaluate(run)
        ndcg = sum(v["ndcg_cut_3"] for v in scored.values()) / len(scored)
        recall = sum(v["recall_3"] for v in scored.values()) / len(scored)
        assert ndcg == pytest.approx(metrics[method]["ndcg@3"], abs=1e-9)
        assert recall == pytest.approx(metrics[method]["recall@3"], abs=1e-9)
