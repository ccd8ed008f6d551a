"""Cold items on equal terms: a new item is scored from its text like any other."""

from __future__ import annotations

import pytest

from paretorec.moo import resolve_objectives
from tests.serve.conftest import AUTH, ITEMS, AppFactory

D1 = next(item for item in ITEMS if item[0] == "d1")


def _search(client: object, query: str, k: int = 10) -> list[dict[str, object]]:
    body = {"query": query, "k": k, "collapse_duplicates": False}
    response = client.post("/search", json=body)  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_an_unrelated_new_item_stays_out_of_the_top_10(make_client: AppFactory) -> None:
    client = make_client()
    new = {"item_id": "z1", "title": "Porcelain tea cup saucer", "price": 8.0}
    assert client.put("/items", json={"items": [new]}, headers=AUTH).status_code == 200
    for query in ("cordless drill", "paint roller", "garden hose"):
        assert "z1" not in [item["item_id"] for item in _search(client, query)]
    assert "z1" in [item["item_id"] for item in _search(client, "porcelain tea cup")]


TWIN_QUERIES = ["cordless drill", "drill 18V", "lithium"]  # "lithium": only d1 and its twin


@pytest.mark.parametrize("query", TWIN_QUERIES)
def test_a_new_twin_of_an_item_scores_as_it_does(make_client: AppFactory, query: str) -> None:
    client = make_client()
    _, title, category, brand, price, stock, seller = D1
    twin = {"item_id": "d1-twin", "title": title, "category": category, "brand": brand,
            "price": price, "stock": stock, "seller_id": seller}  # fmt: skip
    assert client.put("/items", json={"items": [twin]}, headers=AUTH).status_code == 200
    scores = {item["item_id"]: item["score"] for item in _search(client, query, k=14)}
    assert scores["d1-twin"] == pytest.approx(scores["d1"], abs=1e-3)


def test_relevance_is_a_name_pareto_knows() -> None:
    assert resolve_objectives("relevance,revenue") == resolve_objectives("ndcg,revenue")
    with pytest.raises(ValueError, match="named twice"):
        resolve_objectives("relevance,ndcg")
