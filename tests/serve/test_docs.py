"""/docs works offline: the page names no external URL and every asset it loads is served."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from paretorec.serve.docs import ASSETS, docs_router
from tests.serve.conftest import AppFactory


def _references(page: str) -> list[str]:
    """Every URL the page loads or links: src/href attributes and quoted strings in its script."""
    attributes = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page)
    quoted = re.findall(r"""["']((?:https?:)?//[^"']+|/[\w./-]+)["']""", page)
    return attributes + quoted


def test_the_service_docs_page_loads_only_local_assets(make_client: AppFactory) -> None:
    client = make_client()
    page = client.get("/docs")
    assert page.status_code == 200
    assert not re.search(r"https?://|//cdn", page.text), "the docs page names an external URL"
    references = _references(page.text)
    assert "/openapi.json" in references
    for url in references:
        fetched = client.get(url)
        assert fetched.status_code == 200, url
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert len(script.content) > 500_000  # the real bundle, not a stub
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    assert client.get("/redoc").status_code == 404  # ReDoc has no local copy: not offered


def test_only_the_named_assets_are_served() -> None:
    app = FastAPI(docs_url=None, redoc_url=None)
    app.include_router(docs_router(title="t"))
    client = TestClient(app)
    for name in ASSETS:
        assert client.get(f"/docs/assets/{name}").status_code == 200
    assert client.get("/docs/assets/index.html").status_code == 404
    assert client.get("/docs/assets/..%2F__init__.py").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 200
    assert "t - API" in client.get("/docs").text
