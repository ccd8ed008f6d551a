"""Replaying queries through a models folder (the audit's --models): the lists are the
service's, with and without the shop's rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paretorec.evaluate.fairness import rule_violations
from paretorec.serve import ModelRegistry
from paretorec.serve.constraints import read_constraints
from paretorec.serve.loading import LoadOptions, load_pipeline
from paretorec.serve.pipeline import SearchQuery
from paretorec.serve.replay import replay_queries
from tests.serve.conftest import HashingEncoder

QUERIES = [("q1", "cordless drill"), ("q2", "saw"), ("q3", "garden hose"), ("q1", "cordless drill")]


def test_replay_serves_the_lists_the_service_shows(policy_models: Path, tmp_path: Path) -> None:
    pipeline = load_pipeline(ModelRegistry(policy_models), LoadOptions(encoder=HashingEncoder()))
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"caps": [{"name": "one", "field": "seller_id", "most": 1}]}))
    off = replay_queries(pipeline, QUERIES, k=4, constraints=None, judgments={"q1": {"d1": 3.0}})
    expected = tuple(i.item_id for i in pipeline.search(SearchQuery("saw", k=4)).items)
    assert off.served.lists[1] == expected
    assert off.objectives["ndcg@4"] is not None and 0 <= off.objectives["ndcg@4"] <= 1
    assert off.objectives["expected clicks / list"] is not None
    assert sum(off.served.merit.values()) > 0
    on = replay_queries(pipeline, QUERIES, k=4, constraints=read_constraints(path), judgments=None)
    records = {i: r for i, r in zip(pipeline.store.column("item_id"),
                                    pipeline.store.records(list(pipeline.store.column("item_id"))),
                                    strict=True)}  # fmt: skip
    rules = read_constraints(path)
    from paretorec.constraints import ListConstraints

    lists = ListConstraints(rules.rules)
    assert rule_violations(on.served.lists, records, lists) == {"blocked or hidden": 0, "one": 0}
    assert rule_violations(off.served.lists, records, lists)["one"] > 0
    assert on.objectives["ndcg@4"] is None
    first, last = on.served.times[0], on.served.times[-1]
    assert first is not None and last is not None and first < last
    with pytest.raises(ValueError):
        replay_queries(pipeline, QUERIES, k=0, constraints=None)


def test_audit_replay_from_the_command_line(
    policy_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import paretorec.serve.loading as loading
    from paretorec.cli import app
    from tests.serve.conftest import ITEMS

    real = loading.load_pipeline
    monkeypatch.setattr(  # the tiny shop's vectors come from the hashing encoder
        loading, "load_pipeline", lambda registry, options: real(
            registry, LoadOptions(encoder=HashingEncoder(), verify=False))
    )  # fmt: skip
    data = tmp_path / "queries"
    data.mkdir()
    (data / "items.csv").write_text(
        "item_id,title\n" + "".join(f"{item[0]},{item[1]}\n" for item in ITEMS)
    )
    (data / "queries.csv").write_text("query_id,text\nq1,cordless drill\nq2,saw\nq3,light\n")
    (data / "judgments.csv").write_text("query_id,item_id,grade\nq1,d1,3\nq2,s2,2\nq3,l1,1\n")
    rules = tmp_path / "rules.json"
    blocked = {"block": {"sellers": ["s4"]}, "caps": [{"name": "one", "field": "brand", "most": 1}]}
    rules.write_text(json.dumps(blocked))
    out = tmp_path / "report"
    args = ["audit", "--models", str(policy_models), "--queries", str(data), "--rules",
            str(rules), "--requests", "12", "--k", "4", "--group", "seller_id",
            "--out", str(out)]  # fmt: skip
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    report = json.loads((out / "audit.json").read_text())
    assert [r["run"] for r in report["comparison"]] == ["without constraints", "with the rules"]
    assert report["violations"] == {"blocked or hidden": 0, "one": 0}
    assert report["rule_hits"]["blocked or hidden"] > 0 and report["n_lists"] == 12
    shown = {r["group"]: r["exposure_share"] for r in report["groups"][0]["rows"]}
    assert shown["s4"] == 0.0 and sum(shown.values()) == pytest.approx(1.0)
    refused = CliRunner().invoke(app, ["audit", "--models", str(policy_models)])
    assert refused.exit_code == 1 and "needs --queries" in refused.output
