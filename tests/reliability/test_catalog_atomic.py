"""A catalog change is all or nothing (hypothesis): for any `PUT /items` body, valid or
not, either every item in it is served everywhere at once (the item store, search, the
recommender and the change journal, which replays to the same store), or the service
answers exactly as before: the same lists with the same scores, the same items, the
same journal. Never a 5xx (defects 1 and 5 of issue 17)."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from paretorec.serve import ModelRegistry
from paretorec.serve.app import create_app
from paretorec.serve.changes import CHANGES_FILE, ChangeJournal
from paretorec.serve.errors import ErrorBody
from paretorec.serve.loading import LoadOptions, apply_journal, load_pipeline
from paretorec.serve.pipeline import ServingPipeline
from tests.serve.conftest import AUTH, TOKEN, HashingEncoder

QUERIES = ("cordless drill", "paint", "garden hose 50 ft", "snow blower", "widget")
JSON = "application/json"
KNOWN = ("d1", "g2", "p1")  # a put of these updates them

WORDS = st.sampled_from(["drill", "saw", "paint", "widget", "snow", "blower", "lamp", "hose"])
TEXT = st.lists(WORDS, min_size=1, max_size=5).map(" ".join)
GOOD: dict[str, st.SearchStrategy[Any]] = {
    "item_id": st.sampled_from(["n1", "n2", "n3", " n4 ", *KNOWN]),
    "title": st.one_of(TEXT, TEXT.map(lambda t: f"  {t}\r\n")),
    "description": TEXT,
    "category": TEXT.map(lambda t: t.replace(" ", " > ")),
    "brand": TEXT,
    "seller_id": st.sampled_from(["s1", "s9"]),
    "price": st.floats(0, 1e4),
    "cost": st.floats(0, 1e4),
    "stock": st.integers(0, 2**63 - 1),
    "created_at": st.sampled_from(
        ["2024-11-01T10:00:00", "2024-11-01T10:00:00+05:30", "9999-12-31T23:59:59+00:00"]
    ),
}
NASTY_TEXT = st.one_of(st.sampled_from(["", "   ", "x" * 1_001]), st.integers(), st.none())
BAD: dict[str, st.SearchStrategy[Any]] = {
    "item_id": st.one_of(st.sampled_from(["", "  ", "a/b", "z" * 129]), st.integers()),
    "title": NASTY_TEXT,
    "description": st.one_of(st.just("y" * 10_001), st.integers()),
    "category": st.sampled_from(["x" * 1_001, 7]),
    "seller_id": st.sampled_from(["a" * 129, ""]),
    "price": st.sampled_from([-1.0, 1e309, math.inf, math.nan, True, [1]]),
    "cost": st.just(-0.5),
    "stock": st.sampled_from([-1, 2**63, 2**64, 10**40, "3", True, 3.5]),
    "created_at": st.sampled_from(
        [
            "9999-12-31T23:59:59-01:00",  # year 10000 in UTC
            "0001-01-01T00:30:00+01:00",  # year 0 in UTC
            "2024-02-30T00:00:00",
            "yesterday",
            0,
            10**20,
        ]
    ),
    "colour": st.just("red"),  # not a column
    "item_id twice": st.just(None),  # see `put_bodies`
}
GOOD_ITEM = st.fixed_dictionaries(
    {"item_id": GOOD["item_id"], "title": GOOD["title"]},
    optional={k: v for k, v in GOOD.items() if k not in ("item_id", "title")},
)


@st.composite
def put_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """1-3 valid items; about half the time one value of one of them replaced by a bad one."""
    items = draw(
        st.lists(GOOD_ITEM, min_size=1, max_size=3, unique_by=lambda i: i["item_id"].strip())
    )
    if draw(st.booleans()):
        name = draw(st.sampled_from(sorted(BAD)))
        row = draw(st.integers(0, len(items) - 1))
        if name == "item_id twice":
            items.append(dict(items[row]))
        else:
            items[row] = {**items[row], name: draw(BAD[name])}
    return {"items": items}


BODY = st.one_of(
    put_bodies(),
    st.sampled_from([{"items": []}, {"item": []}, [], b'{"items": [{"item_id": "n1",']),
)


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    """A ranked answer without its timing."""
    return {k: v for k, v in body.items() if k != "took_ms"}


def _snapshot(client: TestClient, ids: list[str]) -> dict[str, Any]:
    """Every answer the property compares: lists with scores, items by id, counts."""
    seen: dict[str, Any] = {}
    for query in QUERIES:
        found = client.post("/search", json={"query": query, "k": 20, "collapse_duplicates": False})
        assert found.status_code == 200, found.text
        seen[query] = _answer(found.json())
    recommended = client.post("/recommend", json={"session_items": ["d2", *ids], "k": 20})
    assert recommended.status_code == 200, recommended.text
    seen["recommend"] = _answer(recommended.json())
    for item_id in {*ids, *KNOWN}:
        got = client.get(f"/items/{quote(item_id, safe='')}")
        seen[item_id] = (got.status_code, got.json())
    seen["health"] = client.get("/healthz").json()["items"]
    return seen


def _addressable(item_id: object) -> list[str]:
    """The id as `GET /items/{id}` can name it, if it can."""
    if not isinstance(item_id, str):
        return []
    stripped = item_id.strip()
    return [stripped] if stripped and "/" not in stripped and len(stripped) <= 128 else []


def _check_served(
    client: TestClient,
    pipeline: ServingPipeline,
    items: list[dict[str, Any]],
    models: Path,
    events: Path,
) -> None:
    """Every item of an accepted put is in the store, found by search and known to the
    recommender, and the journal replays to the same records."""
    ids = [str(item["item_id"]).strip() for item in items]
    for item, item_id in zip(items, ids, strict=True):
        assert item_id in pipeline.store
        got = client.get(f"/items/{quote(item_id, safe='')}").json()
        assert got["title"] == item["title"].strip()
        if "price" in item:
            assert got["price"] == float(item["price"])
        if "stock" in item:
            assert got["stock"] == item["stock"]
        # the tiny catalog is within the retrieval depth: a search lists all of it, so the
        # index holds exactly the store's items
        query = {"query": got["title"][:512], "k": 100, "collapse_duplicates": False}
        found = client.post("/search", json=query)
        assert found.status_code == 200, found.text
        listed = {i["item_id"] for i in found.json()["items"]}
        assert item_id in listed and listed == set(pipeline.store.sample_ids(1_000))
    recommended = client.post("/recommend", json={"session_items": ids, "k": 5})
    assert recommended.status_code == 200, recommended.text
    assert recommended.json()["ignored"] == []  # the recommender knows each of them
    replayed = load_pipeline(ModelRegistry(models), LoadOptions(encoder=HashingEncoder()))
    journal = ChangeJournal(events)
    try:
        apply_journal(replayed, journal)
    finally:
        journal.close()
    assert replayed.store.records(ids) == pipeline.store.records(ids)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(body=BODY)
def test_a_catalog_change_is_all_or_nothing(full_models_dir: Path, body: Any) -> None:
    pipeline = load_pipeline(ModelRegistry(full_models_dir), LoadOptions(encoder=HashingEncoder()))
    with tempfile.TemporaryDirectory() as scratch:
        events = Path(scratch)
        journal = ChangeJournal(events)
        client = TestClient(
            create_app(pipeline, admin_token=TOKEN, journal=journal), raise_server_exceptions=False
        )
        items = body.get("items", []) if isinstance(body, dict) else []
        ids = [i for item in items for i in _addressable(item.get("item_id"))]
        before = _snapshot(client, ids)
        # NaN and infinity as Python's json writes them (httpx's own writer refuses them)
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        put = client.put("/items", content=raw, headers={**AUTH, "content-type": JSON})
        journal.close()
        assert put.status_code in (200, 400, 422), put.text
        why = "" if put.status_code == 200 else put.json()["error"][:40]
        event(f"answered {put.status_code} {why}")
        if put.status_code == 200:
            assert put.json()["items"] == len(pipeline.store)
            _check_served(client, pipeline, items, full_models_dir, events)
        else:
            assert ErrorBody.model_validate(put.json()).error
            assert _snapshot(client, ids) == before
            assert (events / CHANGES_FILE).read_bytes() == b""
