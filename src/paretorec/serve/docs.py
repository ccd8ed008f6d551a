"""``/docs`` with local assets: Swagger UI works offline.

FastAPI's own ``/docs`` page loads Swagger UI's script and stylesheet from a CDN, so on a
machine without the internet it is blank. This router serves the same page with the files
of the ``swagger-ui-bundle-v2`` wheel (Swagger UI 5, Apache-2.0; the version that reads
OpenAPI 3.1, which FastAPI writes) from ``/docs/assets/``. The app is built with
``docs_url=None, redoc_url=None`` (ReDoc has no bundled copy) and includes this router.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

__all__ = ["ASSETS", "docs_router", "swagger_ui_folder"]

ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
"""The files the page loads, and their media types: nothing else is served."""


def swagger_ui_folder() -> Path:
    """The folder of Swagger UI's files inside the installed wheel."""
    bundle = importlib.import_module("swagger_ui_bundle")  # untyped: no stubs to check
    return Path(bundle.swagger_ui_path)


def docs_router(*, title: str, openapi_url: str = "/openapi.json") -> APIRouter:
    """``GET /docs``, its OAuth2 redirect page and ``GET /docs/assets/{name}``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/docs", response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @router.get("/docs/oauth2-redirect", response_class=HTMLResponse)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.get("/docs/assets/{name}")
    def asset(name: str) -> FileResponse:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise HTTPException(404, f"no docs asset {name!r}")
        return FileResponse(swagger_ui_folder() / name, media_type=media_type)

    return router
