"""PUT /items, DELETE /items/{id} and model promotion: admin token, cold start, changes."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from paretorec.serve import ModelKind, ModelRegistry
from paretorec.serve.encoders import EncoderRef
from paretorec.serve.index_version import build_index_version
from paretorec.serve.loading import LoadOptions, load_pipeline
from paretorec.serve.pipeline import RequestError
from paretorec.types import Catalog
from tests.serve.conftest import AUTH, AppFactory, HashingEncoder, shop_catalog

NEW = {
    "item_id": "x9",
    "title": "Snow blower two stage 24 in",
    "category": "Outdoor > Snow",
    "brand": "Toro",
    "price": 899.0,
    "stock": 3,
    "seller_id": "s9",
    "created_at": "2024-11-01T10:00:00",
}


def _ids(client: object, query: str, **extra: object) -> list[str]:
    response = client.post("/search", json={"query": query, **extra})  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    return [item["item_id"] for item in response.json()["items"]]


def test_admin_endpoints_need_the_token(make_client: AppFactory) -> None:
    client = make_client()
    missing = client.put("/items", json={"items": [NEW]})
    assert missing.status_code == 401 and "Bearer" in missing.json()["error"]
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = client.put("/items", json={"items": [NEW]}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "wrong" in wrong.json()["error"]
    basic = client.delete("/items/d1", headers={"Authorization": "Basic s3cret-token"})
    assert basic.status_code == 401
    assert (
        client.post("/admin/promote", json={"kind": "index", "version": "v0001"}).status_code == 401
    )
    assert "snow" not in " ".join(_ids(client, "snow blower")).lower()
    closed = make_client(token=None)
    refused = closed.put("/items", json={"items": [NEW]}, headers=AUTH)
    assert refused.status_code == 403 and "token" in refused.json()["error"]


def test_new_item_is_searchable_at_once_and_updates_and_removal_apply(
    make_client: AppFactory,
) -> None:
    client = make_client()
    assert "x9" not in _ids(client, "snow blower", k=3)
    added = client.put("/items", json={"items": [NEW]}, headers=AUTH)
    assert added.status_code == 200, added.text
    assert added.json() == {"added": ["x9"], "updated": [], "items": 13}
    assert _ids(client, "snow blower", k=3)[0] == "x9"
    assert _ids(client, "snow", filters={"category": "Outdoor > Snow"}) == ["x9"]
    assert client.get("/items/x9").json()["created_at"].startswith("2024-11-01T10:00:00")

    renamed = {**NEW, "title": "Leaf blower backpack gas", "category": "Outdoor > Garden"}
    changed = client.put(
        "/items", json={"items": [renamed, {**NEW, "item_id": "x10"}]}, headers=AUTH
    )
    assert changed.json() == {"added": ["x10"], "updated": ["x9"], "items": 14}
    assert _ids(client, "leaf blower backpack", k=1) == ["x9"]
    assert _ids(client, "snow", filters={"category": "Outdoor > Snow"}) == ["x10"]
    assert client.get("/items/x9").json()["title"] == "Leaf blower backpack gas"

    removed = client.delete("/items/x9", headers=AUTH)
    assert removed.json() == {"removed": "x9", "items": 13}
    assert "x9" not in _ids(client, "leaf blower backpack", k=20)
    assert client.get("/items/x9").status_code == 404
    again = client.delete("/items/x9", headers=AUTH)
    assert again.status_code == 404 and "x9" in again.json()["error"]
    assert client.get("/healthz").json()["items"] == 13
    assert "paretorec_catalog_items 13.0" in client.get("/metrics").text


def test_catalog_changes_survive_a_restart(make_client: AppFactory, tmp_path: Path) -> None:
    state = tmp_path / "state"
    client = make_client(events=state)
    client.put("/items", json={"items": [NEW, {**NEW, "item_id": "x10"}]}, headers=AUTH)
    client.put("/items", json={"items": [{**NEW, "title": "Snow shovel ergonomic"}]}, headers=AUTH)
    client.delete("/items/x10", headers=AUTH)
    client.delete("/items/p2", headers=AUTH)
    restarted = make_client(events=state)  # a new process: the index version plus the journal
    assert restarted.get("/healthz").json()["items"] == 12
    assert restarted.get("/items/x9").json()["title"] == "Snow shovel ergonomic"
    assert restarted.get("/items/x9").json()["price"] == 899.0
    assert restarted.get("/items/x10").status_code == 404
    assert restarted.get("/items/p2").status_code == 404
    assert _ids(restarted, "snow shovel", k=1) == ["x9"]
    with (state / "catalog_changes.jsonl").open("a") as handle:
        handle.write('{"op": "delete", "item_')  # a torn, unacknowledged write
    assert make_client(events=state).get("/healthz").json()["items"] == 12


def test_bad_item_changes_get_422(make_client: AppFactory) -> None:
    client = make_client()
    for items in (
        [],
        [{**NEW, "price": -1}],
        [{**NEW, "title": ""}],
        [{"item_id": "y"}],
        [{**NEW, "stock": 1.5}],
        [NEW, NEW],
        [{**NEW, "item_id": "z" * 200}],
        [{**NEW, "shoe_size": 9}],
        [{**NEW, "created_at": "yesterday"}],
    ):
        response = client.put("/items", json={"items": items}, headers=AUTH)
        assert response.status_code == 422, (items, response.text)
        assert response.json()["error"]
    too_many = [{**NEW, "item_id": f"n{i}"} for i in range(1001)]
    assert client.put("/items", json={"items": too_many}, headers=AUTH).status_code == 422
    assert client.get("/healthz").json()["items"] == 12


def test_promote_and_roll_back_the_index(make_client: AppFactory, tmp_path: Path) -> None:
    root = tmp_path / "models"
    registry = ModelRegistry(root)
    encoder = HashingEncoder()
    reference = EncoderRef.bundled(item_vectors_by=encoder.name)
    full = shop_catalog()
    build_index_version(registry, full, encoder, cache=tmp_path / "cache", reference=reference)
    smaller = type(full)(full.frame.head(5))
    build_index_version(registry, smaller, encoder, cache=tmp_path / "cache", reference=reference)
    client = make_client(models=root)
    health = client.get("/healthz").json()
    assert health["stages"]["index"]["version"] == "v0002" and health["items"] == 5
    promoted = client.post(
        "/admin/promote", json={"kind": "index", "version": "v0001"}, headers=AUTH
    )
    assert promoted.json() == {"kind": "index", "version": "v0001", "reloaded": True}
    assert client.get("/healthz").json()["items"] == 12
    assert registry.promoted(ModelKind.INDEX) == "v0001"
    client.post("/admin/promote", json={"kind": "index", "version": "v0002"}, headers=AUTH)
    assert client.get("/healthz").json()["items"] == 5
    back = client.post("/admin/rollback", json={"kind": "index"}, headers=AUTH)
    assert back.json()["version"] == "v0001" and client.get("/healthz").json()["items"] == 12
    unknown = client.post(
        "/admin/promote", json={"kind": "index", "version": "v0042"}, headers=AUTH
    )
    assert unknown.status_code == 422 and "v0042" in unknown.json()["error"]
    bad = client.post("/admin/promote", json={"kind": "oracle", "version": "v1"}, headers=AUTH)
    assert bad.status_code == 422


def test_searches_during_catalog_changes_all_succeed(make_client: AppFactory) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client = make_client()

    def search(n: int) -> int:
        return client.post("/search", json={"query": "cordless snow", "k": 5}).status_code

    def change(n: int) -> int:
        item = {**NEW, "item_id": f"c{n}", "title": f"Snow blower model {n}"}
        put = client.put("/items", json={"items": [item]}, headers=AUTH).status_code
        gone = client.delete(f"/items/c{n}", headers=AUTH).status_code
        return max(put, gone)

    with ThreadPoolExecutor(max_workers=4) as pool:
        searches = pool.map(search, range(40))
        changes = pool.map(change, range(12))
        assert set(searches) == {200} and set(changes) == {200}
    assert client.get("/healthz").json()["items"] == 12


OUT_OF_RANGE = "9999-12-31T23:59:59-01:00"  # year 10000 in UTC
QUERIES = ("cordless drill", "snow blower", "paint roller", "saw", "garden")


def _answers(client: object) -> dict[str, object]:
    """Everything a shopper could see: each query's list, with its scores, and two items."""
    seen: dict[str, object] = {}
    for query in QUERIES:
        response = client.post("/search", json={"query": query, "k": 12})  # type: ignore[attr-defined]
        assert response.status_code == 200, response.text
        seen[query] = [(i["item_id"], i["title"], i["score"]) for i in response.json()["items"]]
    for item_id in ("d1", "x9"):
        got = client.get(f"/items/{item_id}")  # type: ignore[attr-defined]
        seen[item_id] = (got.status_code, got.json())
    seen["health"] = client.get("/healthz").json()["items"]  # type: ignore[attr-defined]
    return seen


@pytest.mark.parametrize("stages", ["index only", "ranker and recommender"])
def test_a_refused_put_changes_nothing(
    make_client: AppFactory, full_models_dir: Path, stages: str
) -> None:
    client = make_client(models=full_models_dir) if stages != "index only" else make_client()
    before = _answers(client)
    # a new item and a changed one, then one whose created_at has no year in UTC
    batch = [
        NEW,
        {**NEW, "item_id": "d1", "title": "Snow blower cordless"},
        {**NEW, "item_id": "x10", "created_at": OUT_OF_RANGE},
    ]
    refused = client.put("/items", json={"items": batch}, headers=AUTH)
    assert refused.status_code == 422, refused.text
    assert "created_at" in refused.json()["error"] and "range" in refused.json()["error"]
    assert _answers(client) == before
    assert client.delete("/items/x9", headers=AUTH).status_code == 404  # never added
    if stages != "index only":
        session = {"session_items": ["d2"], "k": 5}
        assert [i["item_id"] for i in client.post("/recommend", json=session).json()["items"]]

    added = client.put("/items", json={"items": batch[:2]}, headers=AUTH)
    assert added.json() == {"added": ["x9"], "updated": ["d1"], "items": 13}
    assert client.get("/items/d1").json()["title"] == "Snow blower cordless"
    assert {"x9", "d1"} <= set(_ids(client, "snow blower", k=13))
    assert client.delete("/items/x9", headers=AUTH).status_code == 200


def test_the_pipeline_checks_every_value_before_it_changes_anything(
    make_client: AppFactory, full_models_dir: Path
) -> None:
    pipeline = load_pipeline(ModelRegistry(full_models_dir), LoadOptions(encoder=HashingEncoder()))
    client = make_client(pipeline=pipeline)
    before = _answers(client)
    ten_thousand = 253_402_300_800_000_000 + 3_600_000_000  # 10000-01-01T01:00:00 UTC, in µs
    frame = pl.DataFrame(
        {
            "item_id": ["x9", "d1"],
            "title": ["Snow blower two stage", "Snow blower cordless"],
            "created_at": pl.Series([0, ten_thousand]).cast(pl.Datetime("us", "UTC")),
        }
    )  # built past `catalog_from_records`, which would refuse it
    with pytest.raises(RequestError, match="created_at"):
        pipeline.upsert_items(Catalog(frame))
    assert _answers(client) == before
    assert client.delete("/items/d1", headers=AUTH).status_code == 200


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"created_at": OUT_OF_RANGE}, "created_at"),
        ({"created_at": "0001-01-01T00:30:00+01:00"}, "created_at"),  # year 0 in UTC
        ({"created_at": 10**20}, "created_at"),
        ({"stock": 2**64}, "stock"),
        ({"stock": 2**63}, "stock"),
        ({"stock": 10**40}, "stock"),
    ],
)
def test_values_out_of_range_get_422(
    make_client: AppFactory, change: dict[str, object], says: str
) -> None:
    client = make_client()
    response = client.put("/items", json={"items": [{**NEW, **change}]}, headers=AUTH)
    assert response.status_code == 422, response.text
    assert says in response.json()["error"]
    assert client.get("/items/x9").status_code == 404


def test_the_edges_of_the_ranges_are_kept(make_client: AppFactory) -> None:
    client = make_client()
    edge = {**NEW, "stock": 2**63 - 1, "created_at": "9999-12-31T23:59:59+00:00"}
    assert client.put("/items", json={"items": [edge]}, headers=AUTH).status_code == 200
    item = client.get("/items/x9").json()
    assert item["stock"] == 2**63 - 1
    assert item["created_at"].startswith("9999-12-31T23:59:59")
    assert _ids(client, "snow blower", k=1, filters={"in_stock": True}) == ["x9"]


@pytest.mark.parametrize("item_id", ["a/b", "/x9", "x9/", "tools/drills/d7"])
def test_an_item_id_with_a_slash_is_refused(make_client: AppFactory, item_id: str) -> None:
    client = make_client()
    response = client.put("/items", json={"items": [{**NEW, "item_id": item_id}]}, headers=AUTH)
    assert response.status_code == 422, response.text
    assert "item_id" in response.json()["error"] and "'/'" in response.json()["error"]
    assert client.get("/healthz").json()["items"] == 12


def test_counts_must_be_json_integers(make_client: AppFactory) -> None:
    client = make_client()
    for stock in ("3", True, 3.0):
        response = client.put("/items", json={"items": [{**NEW, "stock": stock}]}, headers=AUTH)
        assert response.status_code == 422 and "stock" in response.json()["error"], stock
