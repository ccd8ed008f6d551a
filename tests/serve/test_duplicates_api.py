"""The service shows a product listed under several ids once (switchable per request) and
says when a shopper with no history gets the popular list."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from paretorec.serve import ModelRegistry
from paretorec.serve.constraints import read_constraints
from paretorec.serve.loading import LoadOptions, load_pipeline
from paretorec.serve.pipeline import COLD_START_NOTE
from tests.serve.conftest import AUTH, AppFactory, HashingEncoder

TWIN = {  # d1's product again, as a second listing: "Cordless drill 18V lithium", DeWalt
    "item_id": "d1-bis",
    "title": "CORDLESS DRILL 18-V Lithium",
    "brand": "dewalt",
    "category": "Tools > Power Tools > Drills",
    "price": 127.0,
}


def _ids(body: dict[str, list[dict[str, str]]]) -> list[str]:
    return [item["item_id"] for item in body["items"]]


def _with_twin(client: TestClient) -> TestClient:
    assert client.put("/items", json={"items": [TWIN]}, headers=AUTH).status_code == 200
    return client


def test_search_collapses_a_second_listing_unless_asked_not_to(make_client: AppFactory) -> None:
    client = _with_twin(make_client())
    request = {"query": "cordless drill 18v lithium", "k": 5}
    collapsed = _ids(client.post("/search", json=request).json())
    assert len({"d1", "d1-bis"} & set(collapsed)) == 1
    both = _ids(client.post("/search", json={**request, "collapse_duplicates": False}).json())
    assert {"d1", "d1-bis"} <= set(both)
    refused = client.post("/search", json={**request, "collapse_duplicates": "no"})
    assert refused.status_code == 422


def test_recommend_collapses_and_notes_a_cold_start(
    make_client: AppFactory, full_models_dir: Path
) -> None:
    client = _with_twin(make_client(models=full_models_dir))
    for collapse, most in ((True, 1), (False, 2)):
        body = client.post(
            "/recommend", json={"user_id": "nobody", "k": 13, "collapse_duplicates": collapse}
        ).json()
        assert len({"d1", "d1-bis"} & set(_ids(body))) <= most
        assert COLD_START_NOTE in body["notes"]
    every = client.post(
        "/recommend", json={"user_id": "nobody", "k": 13, "collapse_duplicates": False}
    ).json()
    assert {"d1", "d1-bis"} <= set(_ids(every))  # both listed when nothing collapses
    known = client.post("/recommend", json={"user_id": "u2", "k": 4}).json()
    assert COLD_START_NOTE not in known["notes"]


def test_a_hidden_listing_does_not_hide_its_servable_twin(
    make_client: AppFactory, models_dir: Path, tmp_path: Path
) -> None:
    """Collapse runs among the listings the rules allow: with d1 blocked, its twin (another
    id of the same product) is what the shopper sees, not nothing."""
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"block": {"item_ids": ["d1"]}}))
    pipeline = load_pipeline(ModelRegistry(models_dir), LoadOptions(encoder=HashingEncoder()))
    pipeline.constraints = read_constraints(rules)
    client = _with_twin(make_client(pipeline=pipeline))
    listed = _ids(
        client.post("/search", json={"query": "cordless drill 18v lithium", "k": 5}).json()
    )
    assert "d1" not in listed and "d1-bis" in listed
