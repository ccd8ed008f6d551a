"""One error shape across the API, declared in /openapi.json (defect 6 of issue 17)."""

from __future__ import annotations

from paretorec.serve.errors import ErrorBody
from tests.serve.conftest import AUTH, AppFactory


def test_every_kind_of_error_has_the_one_shape(make_client: AppFactory) -> None:
    client = make_client(max_body_bytes=2_000)
    answers = {
        422: client.post("/search", json={"query": "drill", "k": "10"}),
        404: client.get("/items/nope"),
        401: client.put("/items", json={"items": []}),
        413: client.post("/search", json={"query": "x" * 3_000}),
        400: client.post(
            "/search", content=b'{"query": "\xff"}', headers={"content-type": "application/json"}
        ),
        405: client.request("OPTIONS", "/items/d1"),
    }
    for status, response in answers.items():
        assert response.status_code == status, (status, response.text)
        body = ErrorBody.model_validate(response.json())
        assert body.error and "\n" not in body.error
        assert isinstance(response.json()["detail"], list) and body.detail
    invalid = answers[422].json()
    assert invalid["detail"][0]["loc"] == ["body", "k"]
    assert invalid["error"].startswith("k: ")
    assert answers[404].json()["detail"] == [
        {"loc": [], "msg": "item 'nope' is not in the catalog", "type": "not_found"}
    ]
    # a 405 names every method of the path, DELETE as well as GET
    allowed = {m.strip() for m in answers[405].headers["allow"].split(",")}
    assert {"GET", "DELETE"} <= allowed


def test_a_number_is_not_a_date_time(make_client: AppFactory) -> None:
    client = make_client()
    item = {"item_id": "n1", "title": "Numbered thing", "created_at": 0}
    response = client.put("/items", json={"items": [item]}, headers=AUTH)
    assert response.status_code == 422 and "ISO 8601" in response.json()["error"]


def test_the_document_declares_the_codes_and_the_shape(make_client: AppFactory) -> None:
    spec = make_client().get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ErrorBody" in schemas
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    paths = spec["paths"]
    expected = {
        ("post", "/search"): {"200", "400", "413", "422", "503"},
        ("get", "/items/{item_id}"): {"200", "404", "422"},
        ("delete", "/items/{item_id}"): {"200", "401", "403", "404", "422"},
        ("put", "/items"): {"200", "400", "401", "403", "413", "422", "503"},
        ("get", "/healthz"): {"200"},
    }
    for (method, path), codes in expected.items():
        responses = paths[path][method]["responses"]
        assert set(responses) == codes, (method, path, sorted(responses))
        for code in codes - {"200"}:
            assert responses[code]["content"]["application/json"]["schema"] == ref
    # the weights example names what this service weighs (the tiny shop: relevance)
    weights = schemas["SearchRequest"]["properties"]["weights"]
    assert weights["examples"] == [{"relevance": 1.0}]


def test_a_defect_answers_500_in_the_one_shape(make_client: AppFactory) -> None:
    client = make_client()

    @client.app.get("/boom")  # type: ignore[attr-defined, untyped-decorator]
    def boom() -> None:
        raise KeyError("secret internals")

    response = client.get("/boom")
    assert response.status_code == 500
    body = ErrorBody.model_validate(response.json())
    assert body.error == "internal error (KeyError); see the server log"
    assert "secret" not in response.text
