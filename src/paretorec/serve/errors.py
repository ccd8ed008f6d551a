"""One error shape for the whole API, and an OpenAPI document that declares it.

Every 4xx and 5xx answer is an `ErrorBody`: ``error``, one line that says what is wrong,
and ``detail``, a list of problems (``loc`` where in the request, ``msg``, ``type``); a
refused request body lists each bad field, any other refusal is one problem with an
empty ``loc``. `document_errors` adds to every operation of the OpenAPI document the
codes it can answer (422 where it takes input or acts, 400, 413 and 503 where it takes
a body, 401
and 403 for admin operations, 404 where a path names an item) with this schema, so a
client generated from the document reads every error the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from paretorec.serve.pipeline import RequestError, StageUnavailableError, UnknownItemError

__all__ = [
    "ErrorBody",
    "Problem",
    "document_errors",
    "error_response",
    "install_error_handling",
]

_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    422: "unprocessable",
    500: "internal_error",
    503: "unavailable",
}
_SHOWN_PROBLEMS = 5


class Problem(BaseModel):
    loc: list[str | int] = Field(description="Where in the request (empty: the request).")
    msg: str
    type: str


class ErrorBody(BaseModel):
    """What every refused or failed request answers."""

    error: str = Field(description="What is wrong, in one line.")
    detail: list[Problem]


def error_response(
    status: int,
    message: str,
    *,
    problems: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An `ErrorBody` response; `problems` default to one, the message itself."""
    kind = _TYPES.get(status, f"http_{status}")
    detail = problems if problems is not None else [{"loc": [], "msg": message, "type": kind}]
    line = " ".join(message.split())  # one line, whatever the message held
    return JSONResponse({"error": line, "detail": detail}, status_code=status, headers=headers)


def _summary(problems: Sequence[dict[str, Any]]) -> str:
    parts = []
    for problem in problems[:_SHOWN_PROBLEMS]:
        location = ".".join(str(p) for p in problem["loc"] if p != "body")
        parts.append(f"{location or 'body'}: {problem['msg']}")
    extra = len(problems) - _SHOWN_PROBLEMS
    return "; ".join(parts) + (f" (and {extra} more)" if extra > 0 else "")


def _allowed_methods(app: FastAPI, request: Request) -> str:
    """Every method some route serves at this path (a 405 from one route names only its
    own, e.g. GET without DELETE on /items/{item_id})."""
    scope = {"type": "http", "path": request.url.path, "method": "", "root_path": ""}
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def install_error_handling(app: FastAPI, *, weight_names: Callable[[], Sequence[str]]) -> None:
    """Answer every error as an `ErrorBody` and declare it in `/openapi.json`;
    `weight_names()` gives the objective names the weights example uses."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "invalid")),
                "type": str(e.get("type", "invalid")),
            }
            for e in error.errors()
        ]
        return error_response(422, _summary(problems) or "invalid request", problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def refused(request: Request, error: StarletteHTTPException) -> JSONResponse:
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = _allowed_methods(app, request)
        return error_response(error.status_code, str(error.detail), headers=headers or None)

    @app.exception_handler(RequestError)
    async def unanswerable(request: Request, error: RequestError) -> JSONResponse:
        return error_response(422, str(error))

    @app.exception_handler(UnknownItemError)
    async def unknown(request: Request, error: UnknownItemError) -> JSONResponse:
        return error_response(404, str(error))

    @app.exception_handler(StageUnavailableError)
    async def unavailable(request: Request, error: StageUnavailableError) -> JSONResponse:
        return error_response(503, str(error))

    @app.exception_handler(Exception)
    async def failed(request: Request, error: Exception) -> JSONResponse:
        # a defect, not the client's fault: the same shape, no internals (the server's log
        # has the traceback)
        return error_response(500, f"internal error ({type(error).__name__}); see the server log")

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        return document_errors(generate(), weight_names=tuple(weight_names()))

    app.openapi = openapi  # type: ignore[method-assign]


_ADMIN_CODES = {
    "401": "No admin token, or a wrong one.",
    "403": "The service was started without an admin token.",
}
_METHODS = ("get", "put", "post", "delete", "patch")


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }


def document_errors(spec: dict[str, Any], *, weight_names: Sequence[str]) -> dict[str, Any]:
    """`spec` (FastAPI's document, changed in place and returned) with every operation's
    error codes declared as `ErrorBody`, and weights examples in the served names."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for name, model in (("Problem", Problem), ("ErrorBody", ErrorBody)):
        schemas[name] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            takes_body = "requestBody" in operation
            if takes_body or operation.get("parameters") or method != "get":
                responses["422"] = _error_response("The request is not one this accepts.")
            if takes_body:
                responses["400"] = _error_response("The request body is not UTF-8 JSON.")
                responses["413"] = _error_response("The request body is over the size limit.")
                responses["503"] = _error_response("A stage this needs is not loaded.")
            if "admin" in operation.get("tags", ()):
                for code, description in _ADMIN_CODES.items():
                    responses[code] = _error_response(description)
            if "{item_id}" in path:
                responses["404"] = _error_response("No such item.")
    example = {name: round(1.0 / len(weight_names), 6) for name in weight_names}
    for schema in schemas.values():
        weights = schema.get("properties", {}).get("weights")
        if isinstance(weights, dict) and "examples" in weights and weight_names:
            weights["examples"] = [example]
    return spec
