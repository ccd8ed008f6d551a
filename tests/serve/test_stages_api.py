"""The real ranker and recommender behind the service: predictions, per-request weights
(another trade-off from the same model), recommendations and live catalog changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.serve.conftest import AUTH, AppFactory
from tests.serve.test_items_api import NEW


@pytest.fixture
def client(make_client: AppFactory, full_models_dir: Path):  # type: ignore[no-untyped-def]
    return make_client(models=full_models_dir)


def test_health_lists_the_loaded_stages(client) -> None:  # type: ignore[no-untyped-def]
    health = client.get("/healthz").json()
    loaded = {stage: info["loaded"] for stage, info in health["stages"].items()}
    assert loaded == {"index": True, "ranker": True, "policy": False, "recommender": True}
    assert health["stages"]["ranker"]["version"] == "v0001"
    assert health["status"] == "degraded"  # the policy is missing


def test_search_uses_ranker_predictions_and_default_weights(client) -> None:  # type: ignore[no-untyped-def]
    body = client.post("/search", json={"query": "cordless", "k": 5, "user_id": "u3"}).json()
    assert body["weights_source"] == "default"
    assert body["weights"] == {"click": 0.75, "purchase": 0.0, "revenue": 0.25}
    assert body["ordered_by"] == "weighted sum of ranker predictions"
    assert any("policy missing" in note for note in body["notes"])
    for item in body["items"]:
        predictions = item["predictions"]
        assert set(predictions) == {"click", "purchase", "revenue"}
        assert 0 <= predictions["click"] <= 1 and 0 <= predictions["purchase"] <= 1
        assert predictions["revenue"] == pytest.approx(predictions["purchase"] * item["price"])
        assert sum(item["contributions"].values()) == pytest.approx(item["score"])
        assert item["contributions"]["purchase"] == 0.0
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)


def test_other_weights_give_another_trade_off_from_the_same_model(client) -> None:  # type: ignore[no-untyped-def]
    request = {"query": "cordless drill saw mower paint", "k": 8, "user_id": "u1"}
    by_click = client.post("/search", json={**request, "weights": {"click": 1}}).json()
    by_revenue = client.post("/search", json={**request, "weights": {"revenue": 2}}).json()
    assert by_click["weights"] == {"click": 1.0, "purchase": 0.0, "revenue": 0.0}
    assert by_revenue["weights"] == {"click": 0.0, "purchase": 0.0, "revenue": 1.0}
    assert by_click["weights_source"] == by_revenue["weights_source"] == "request"
    clicks = [i["predictions"]["click"] for i in by_click["items"]]
    revenue = [i["predictions"]["revenue"] for i in by_revenue["items"]]
    assert clicks == sorted(clicks, reverse=True)
    assert revenue == sorted(revenue, reverse=True)
    assert [i["item_id"] for i in by_click["items"]] != [i["item_id"] for i in by_revenue["items"]]
    # the same item gets the same predictions whatever the weights: one model, two lists
    click_of = {i["item_id"]: i["predictions"] for i in by_click["items"]}
    for item in by_revenue["items"]:
        if item["item_id"] in click_of:
            assert item["predictions"] == pytest.approx(click_of[item["item_id"]])
    unknown = client.post("/search", json={**request, "weights": {"relevance": 1}})
    assert unknown.status_code == 422 and "click, purchase, revenue" in unknown.json()["error"]


def test_recommend_for_a_user_and_a_session(client) -> None:  # type: ignore[no-untyped-def]
    body = client.post("/recommend", json={"user_id": "u2", "k": 4}).json()
    assert len(body["items"]) == 4
    assert {i["source"] for i in body["items"]} <= {"covisitation", "popularity"}
    assert set(body["items"][0]["predictions"]) == {"click", "purchase", "revenue"}
    session = client.post(
        "/recommend",
        json={
            "session_items": ["d1", "ghost"],
            "exclude": ["d2"],
            "k": 5,
            "weights": {"purchase": 1},
        },
    ).json()
    ids = [i["item_id"] for i in session["items"]]
    assert "d1" not in ids and "d2" not in ids and len(ids) == 5
    assert session["ignored"] == ["ghost"]
    purchases = [i["predictions"]["purchase"] for i in session["items"]]
    assert purchases == sorted(purchases, reverse=True)
    cheap = client.post(
        "/recommend", json={"user_id": "u2", "k": 10, "filters": {"max_price": 20}}
    ).json()
    assert cheap["items"] and all(i["price"] <= 20 for i in cheap["items"])
    stranger = client.post("/recommend", json={"user_id": "nobody", "k": 3}).json()
    assert [i["source"] for i in stranger["items"]] == ["popularity"] * 3


def test_new_items_are_recommendable_and_removed_ones_are_not(client) -> None:  # type: ignore[no-untyped-def]
    assert client.put("/items", json={"items": [NEW]}, headers=AUTH).status_code == 200
    after_new = client.post("/recommend", json={"session_items": ["x9"], "k": 5}).json()
    assert after_new["ignored"] == []  # known to the recommender at once, by its text
    assert len(after_new["items"]) == 5 and "x9" not in [i["item_id"] for i in after_new["items"]]
    searched = client.post("/search", json={"query": "snow blower", "k": 1, "user_id": "u1"}).json()
    assert searched["items"][0]["item_id"] == "x9"
    assert np.isfinite(searched["items"][0]["predictions"]["click"])
    before = client.post("/recommend", json={"user_id": "u2", "k": 11}).json()
    gone = before["items"][0]["item_id"]
    assert client.delete(f"/items/{gone}", headers=AUTH).status_code == 200
    after = client.post("/recommend", json={"user_id": "u2", "k": 11}).json()
    assert gone not in [i["item_id"] for i in after["items"]]
    assert client.post("/recommend", json={"session_items": [gone], "k": 3}).json()["ignored"] == [
        gone
    ]
