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
