"""The shop's rules and exposure fairness in the service: no list shows a blocked item or
breaks a cap, pins hold, each moved item names its rule, explanations still add up, and
/fairness reports exposure against merit."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from paretorec.serve import ModelRegistry
from paretorec.serve.constraints import read_constraints
from paretorec.serve.loading import LoadOptions, load_pipeline
from tests.serve.conftest import AUTH, ITEMS, AppFactory, HashingEncoder

SELLER = {item[0]: item[6] for item in ITEMS}
BRAND = {item[0]: item[3] for item in ITEMS}
QUERIES = ("cordless drill", "saw", "paint roller", "garden hose", "light")


def _client(make_client: AppFactory, models: Path, rules: Mapping[str, object], tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules))
    pipeline = load_pipeline(ModelRegistry(models), LoadOptions(encoder=HashingEncoder()))
    pipeline.constraints = read_constraints(path)
    return make_client(models=models, pipeline=pipeline), path


def test_blocked_items_never_show_and_caps_hold(
    make_client: AppFactory, policy_models: Path, tmp_path: Path
) -> None:
    rules = {
        "block": {"brands": ["makita"], "item_ids": ["d1"]},
        "caps": [{"name": "one per seller", "field": "seller_id", "most": 1, "within": 3}],
    }
    client, _ = _client(make_client, policy_models, rules, tmp_path)
    moved = 0
    for query in QUERIES:
        for weights in ({"clicks": 1.0}, {"revenue": 1.0}, None):
            body = {"query": query, "k": 8, **({"weights": weights} if weights else {})}
            items = client.post("/search", json=body).json()["items"]
            ids = [item["item_id"] for item in items]
            assert "d1" not in ids and not {BRAND[i] for i in ids} & {"Makita"}
            top = [SELLER[i] for i in ids[:3]]
            assert len(top) == len(set(top))
            for item in items:
                assert sum(item["contributions"].values()) == pytest.approx(item["score"], abs=1e-5)
                moved += "one per seller" in item["rules"]
    assert moved > 0  # the cap did move items, and said so
    hits = client.get("/fairness").json()["rule_hits"]
    # every moved item named the cap; items it pushed out of the list count too
    assert hits["one per seller"] >= moved and hits["blocked or hidden"] > 0


def test_a_pin_holds_its_place_for_its_queries_only(
    make_client: AppFactory, policy_models: Path, tmp_path: Path
) -> None:
    rules = {"pins": [{"name": "lantern promo", "item_id": "l2", "position": 2,
                       "queries": ["Cordless Drill"]}]}  # fmt: skip
    client, _ = _client(make_client, policy_models, rules, tmp_path)
    items = client.post("/search", json={"query": "cordless drill", "k": 5}).json()["items"]
    assert items[1]["item_id"] == "l2" and items[1]["rules"] == ["lantern promo"]
    other = client.post("/search", json={"query": "paint", "k": 5}).json()["items"]
    assert all("lantern promo" not in item["rules"] for item in other)


def _exposure_after_a_stream(
    make_client: AppFactory, models: Path, folder: Path, strength: float
) -> dict[str, object]:
    folder.mkdir()
    rules = {"exposure": {"field": "seller_id", "strength": strength}}
    client, _ = _client(make_client, models, rules, folder)
    for _ in range(15):
        for query in QUERIES:
            listed = client.post("/search", json={"query": query, "k": 4}).json()
            for item in listed["items"]:
                assert "fairness" in item["contributions"]
                assert sum(item["contributions"].values()) == pytest.approx(item["score"], abs=1e-5)
    report: dict[str, object] = client.get("/fairness").json()["exposure"]
    return report


def test_fairness_moves_exposure_toward_merit_and_is_explained(
    make_client: AppFactory, policy_models: Path, tmp_path: Path
) -> None:
    off = _exposure_after_a_stream(make_client, policy_models, tmp_path / "off", 0.0)
    on = _exposure_after_a_stream(make_client, policy_models, tmp_path / "on", 2.0)
    assert on["field"] == "seller_id" and len(on["groups"]) >= 4  # type: ignore[arg-type]
    assert sum(g["exposure_share"] for g in on["groups"]) == pytest.approx(1.0)  # type: ignore[attr-defined]
    # the same stream, the controller on: exposure closer to merit than with it off
    assert on["total_variation"] < off["total_variation"]  # type: ignore[operator]
    assert on["disparate_exposure"] is None or on["disparate_exposure"] >= 1.0  # type: ignore[operator]


def test_rules_reload_and_bad_rules_files(
    make_client: AppFactory, policy_models: Path, tmp_path: Path
) -> None:
    client, path = _client(make_client, policy_models, {"block": {"item_ids": ["d1"]}}, tmp_path)
    assert client.post("/admin/rules").status_code == 401
    path.write_text(json.dumps({"block": {"item_ids": ["d2"]}, "hide_out_of_stock": True}))
    done = client.post("/admin/rules", headers=AUTH)
    assert done.status_code == 200 and done.json()["hide_out_of_stock"] is True
    ids = [
        i["item_id"]
        for i in client.post("/search", json={"query": "drill", "k": 12}).json()["items"]
    ]
    assert "d1" in ids and "d2" not in ids  # d2 is blocked (and out of stock)
    path.write_text(json.dumps({"caps": [{"field": "colour", "most": 1}]}))
    refused = client.post("/admin/rules", headers=AUTH)
    assert refused.status_code == 422 and "field must be one of" in refused.json()["error"]
    assert "d1" in [
        i["item_id"]
        for i in client.post("/search", json={"query": "drill", "k": 12}).json()["items"]
    ]


def test_fair_topk_keeps_the_protected_minimum_at_every_prefix(
    make_client: AppFactory, policy_models: Path, tmp_path: Path
) -> None:
    from paretorec.constraints import FairTopK

    protected = {"s4", "s5"}
    rules = {"fair_topk": {"field": "seller_id", "protected": sorted(protected), "p": 0.7}}
    client, _ = _client(make_client, policy_models, rules, tmp_path)
    table = FairTopK("seller_id", frozenset(protected), 0.7).table(8)  # 0,0,1,1,2,3,3,4
    promoted = 0
    for query in ("cordless drill", "saw", "drill bit"):
        for weights in ({"clicks": 1.0}, {"revenue": 1.0}):
            body = {"query": query, "k": 8, "weights": weights}
            items = client.post("/search", json=body).json()["items"]
            count = 0
            for n, item in enumerate(items):
                count += SELLER[item["item_id"]] in protected
                assert count >= table[n]  # 12 items, 4 protected: always feasible
                promoted += "fair top-k" in item["rules"]
    assert promoted > 0  # drill queries rank the lighting and garden sellers low
    assert client.get("/fairness").json()["fair_topk"]["p"] == 0.7


def test_exposure_and_fair_topk_together_are_refused(tmp_path: Path) -> None:
    from paretorec.constraints import RuleError

    path = tmp_path / "rules.json"
    fair = {"field": "seller_id", "protected": ["s4"], "p": 0.3}
    path.write_text(json.dumps({"exposure": {"field": "seller_id"}, "fair_topk": fair}))
    with pytest.raises(RuleError, match="not both"):
        read_constraints(path)
    path.write_text(json.dumps({"fair_topk": {**fair, "p": 1.5}}))
    with pytest.raises(RuleError, match=r"rules.json: p .*must be in \(0, 1\)"):
        read_constraints(path)
