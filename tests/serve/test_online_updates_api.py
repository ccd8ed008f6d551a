"""Posted events teach the running recommender at once: a new item is recommended from
its first co-views, before any retraining."""

from __future__ import annotations

from pathlib import Path

from tests.serve.conftest import AUTH, AppFactory


def test_a_new_item_is_recommended_after_its_first_co_views(
    make_client: AppFactory, full_models_dir: Path, tmp_path: Path
) -> None:
    client = make_client(models=full_models_dir, events=tmp_path / "events")
    new = {"item_id": "n1", "title": "Solar garden light 6 pack", "price": 24.0,
           "category": "Lighting > Outdoor", "brand": "Sunlite", "stock": 9, "seller_id": "s4"}  # fmt: skip
    assert client.put("/items", json={"items": [new]}, headers=AUTH).status_code == 200
    asked = {"session_items": ["g1"], "k": 12}
    before = [i["item_id"] for i in client.post("/recommend", json=asked).json()["items"]]
    clicks = [
        {"user_id": f"shopper{n}", "item_id": item, "event": "click",
         "timestamp": f"2026-12-05T10:0{n}:0{step}Z"}
        for n in range(3)
        for step, item in enumerate(("g1", "n1"))
    ]  # fmt: skip
    impressions = [{"user_id": "x", "item_id": "n1", "event": "impression"}]
    assert client.post("/events", json={"events": clicks + impressions}).status_code == 200
    listed = client.post("/recommend", json=asked).json()["items"]
    after = [i["item_id"] for i in listed]
    assert "n1" not in before  # a new item without co-views is no candidate
    assert "n1" in after  # two shoppers went from g1 to it: now it is
    assert next(i for i in listed if i["item_id"] == "n1")["source"] == "covisitation"
    # the shoppers' own histories grew too: one of them now gets recommendations
    mine = client.post("/recommend", json={"user_id": "shopper0", "k": 5}).json()["items"]
    assert mine and all(i["item_id"] not in ("g1", "n1") for i in mine)
