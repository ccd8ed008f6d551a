"""POST /search, the read endpoints and request validation, through HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serve.conftest import AppFactory


def test_search_finds_and_explains_without_ranker_or_policy(make_client: AppFactory) -> None:
    client = make_client()
    response = client.post("/search", json={"query": "cordless drill", "k": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["rank"] for item in body["items"]] == [1, 2, 3]
    assert body["items"][0]["item_id"] == "d1"
    assert body["items"][0]["title"] == "Cordless drill 18V lithium"
    assert body["items"][0]["price"] == 129.0
    assert body["weights"] == {"relevance": 1.0}
    assert body["weights_source"] == "default"
    assert body["ordered_by"] == "retrieval"
    for item in body["items"]:
        assert set(item["predictions"]) == {"relevance"}
        assert item["contributions"]["relevance"] == pytest.approx(item["score"])
        assert item["source"] == "search"
    assert body["items"][0]["predictions"]["relevance"] == pytest.approx(1.0)
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)
    assert body["stages"]["index"]["loaded"] and body["stages"]["index"]["version"] == "v0001"
    assert not body["stages"]["ranker"]["loaded"] and not body["stages"]["policy"]["loaded"]
    assert any("ranker missing" in note for note in body["notes"])
    assert body["took_ms"] > 0


def test_filters_are_honoured(make_client: AppFactory) -> None:
    client = make_client()
    body = client.post(
        "/search",
        json={
            "query": "cordless",
            "k": 10,
            "filters": {"category": "tools > power tools", "in_stock": True, "max_price": 200},
        },
    ).json()
    assert body["items"][0]["item_id"] == "d1"
    assert {i["item_id"] for i in body["items"]} == {"d1", "s1"}  # d2 is sold out
    assert all(i["category"].startswith("Tools > Power Tools") for i in body["items"])
    brands = client.post(
        "/search", json={"query": "cordless", "filters": {"brands": ["dewalt"]}}
    ).json()
    assert {i["item_id"] for i in brands["items"]} == {"d1", "g3"}


def test_explicit_weights_on_the_only_objective(make_client: AppFactory) -> None:
    body = (
        make_client().post("/search", json={"query": "paint", "weights": {"relevance": 3}}).json()
    )
    assert body["weights"] == {"relevance": 1.0} and body["weights_source"] == "request"


def test_weights_near_the_float_limit_are_a_trade_off_not_a_crash(
    make_client: AppFactory, full_models_dir: Path
) -> None:
    client = make_client(models=full_models_dir)
    body = {"query": "drill", "weights": {"click": 1e308, "revenue": 1e308}}
    response = client.post("/search", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["weights"] == {"click": 0.5, "purchase": 0.0, "revenue": 0.5}


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"query": "drill", "k": 0}, "k"),
        ({"query": "drill", "k": 101}, "k"),
        ({"query": "   "}, "query"),
        ({"query": "x" * 513}, "query"),
        ({}, "query"),
        ({"query": "drill", "colour": "red"}, "colour"),
        ({"query": "drill", "weights": {"relevance": -1}}, "weights"),
        ({"query": "drill", "weights": {"relevance": 0}}, "sum to 0"),
        ({"query": "drill", "weights": {}}, "weights"),
        ({"query": "drill", "weights": {"revenue": 1.0}}, "unknown objective"),
        ({"query": "drill", "filters": {"min_price": 50, "max_price": 10}}, "min_price"),
        ({"query": "drill", "filters": {"min_price": -1}}, "min_price"),
        ({"query": "drill", "filters": {"category": " > "}}, "category"),
        ({"query": "drill", "filters": {"brands": []}}, "brands"),
        ({"query": 42}, "query"),
        ({"query": "drill", "k": "ten"}, "k"),
        ({"query": "drill", "k": "10"}, "k"),
        ({"query": "drill", "k": True}, "k"),
        ({"query": "drill", "k": 10.0}, "k"),
    ],
)
def test_bad_search_requests_get_422_with_a_reason(
    make_client: AppFactory, payload: dict[str, object], says: str
) -> None:
    response = make_client().post("/search", json=payload)
    assert response.status_code == 422, response.text
    assert says in response.json()["error"]


def test_malformed_and_oversized_bodies(make_client: AppFactory) -> None:
    client = make_client(max_body_bytes=2_000)
    broken = client.post(
        "/search", content=b'{"query": "dri', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    assert (
        client.post(
            "/search", content=b"[1, 2]", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )
    huge = client.post("/search", json={"query": "drill", "user_id": "u" * 5_000})
    assert huge.status_code == 413 and "bytes" in huge.json()["error"]
    assert client.get("/search").status_code == 405
    assert client.get("/nowhere").status_code == 404


def test_recommend_without_a_recommender_says_so(make_client: AppFactory) -> None:
    client = make_client()
    response = client.post("/recommend", json={"user_id": "u1", "k": 5})
    assert response.status_code == 503
    assert "recommender" in response.json()["error"]
    assert client.post("/recommend", json={"k": 5}).status_code == 422  # nobody to recommend for
    assert client.post("/recommend", json={"session_items": ["d1"] * 101}).status_code == 422
    for k in ("10", True):
        strict = client.post("/recommend", json={"user_id": "u1", "k": k})
        assert strict.status_code == 422 and "k" in strict.json()["error"], k


def test_healthz_metrics_and_openapi(make_client: AppFactory) -> None:
    client = make_client()
    health = client.get("/healthz").json()
    assert health["status"] == "degraded" and health["items"] == 12
    assert health["stages"]["index"]["loaded"] is True
    assert {s: v["loaded"] for s, v in health["stages"].items()} == {
        "index": True,
        "ranker": False,
        "policy": False,
        "recommender": False,
    }
    assert "no ranker version" in health["stages"]["ranker"]["detail"]
    client.post("/search", json={"query": "saw"})
    client.post("/search", json={"query": "saw", "k": 0})
    text = client.get("/metrics").text
    assert client.get("/metrics").headers["content-type"].startswith("text/plain")
    assert 'paretorec_request_seconds_bucket{le="0.05",method="POST",route="/search"}' in text
    assert 'paretorec_requests_total{method="POST",route="/search",status="200"} 1.0' in text
    assert 'paretorec_errors_total{kind="client",route="/search"} 1.0' in text
    assert 'paretorec_stage_seconds_count{stage="encode"}' in text
    assert "paretorec_catalog_items 12.0" in text
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/search",
        "/recommend",
        "/items",
        "/items/{item_id}",
        "/events",
        "/healthz",
        "/metrics",
        "/admin/promote",
    } <= set(paths)
    assert client.get("/docs").status_code == 200


def test_get_item(make_client: AppFactory) -> None:
    client = make_client()
    assert client.get("/items/p1").json()["title"] == "Interior paint white gallon"
    assert client.get("/items/nope").status_code == 404


def _chunks(total: int, size: int = 500) -> Iterator[bytes]:
    """A JSON search body of about `total` bytes (mostly blanks), sent in chunks (no
    Content-Length)."""
    yield b'{"query": "drill", "k": 3'
    for _ in range(total // size):
        yield b" " * size
    yield b"}"


def test_a_chunked_body_is_held_to_the_limit(make_client: AppFactory) -> None:
    client = make_client(max_body_bytes=2_000)
    headers = {"content-type": "application/json"}
    huge = client.post("/search", content=_chunks(5_000), headers=headers)
    assert "content-length" not in huge.request.headers
    assert huge.request.headers["transfer-encoding"] == "chunked"
    assert huge.status_code == 413 and "bytes" in huge.json()["error"]
    small = client.post("/search", content=_chunks(1_000), headers=headers)
    assert small.status_code == 200, small.text


def test_a_chunked_body_is_refused_without_reading_the_rest(make_client: AppFactory) -> None:
    app = make_client(max_body_bytes=2_000).app
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/search",
        "raw_path": b"/search",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    read = [0]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:  # 10,000 bytes, 1,000 at a time
        read[0] += 1
        return {"type": "http.request", "body": b" " * 1_000, "more_body": read[0] < 10}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    assert read[0] == 3  # 3,000 bytes: over the limit, and nothing read after
