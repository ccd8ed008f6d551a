"""The trade-off explorer: a page at ``/explorer`` and the JSON endpoints it reads.

The page (`static/explorer.html`, plain JavaScript, plotly.js served from the `plotly`
package: nothing from a CDN) talks only to this service:

- ``GET /explorer/config``: the objectives the served model weighs, the default weights
  and where they come from, whether /recommend is available;
- ``POST /front``: the request's front (`paretorec.serve.front`): the list and its
  objective values at each point of a simplex grid of weights, the knee, the compromise,
  and the best point under lower bounds ("best clicks with revenue at least X");
- ``POST /admin/default-weights`` (admin): serve these weights when a request gives none,
  kept in the registry folder (``default_weights.json``) so a restart keeps them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from paretorec.preference import Preference, PreferenceError
from paretorec.serve.front import request_front
from paretorec.serve.pipeline import RecommendQuery, RequestError, SearchQuery, ServingPipeline
from paretorec.serve.schemas import MAX_K, MAX_QUERY_CHARS, MAX_SESSION_ITEMS, Id

__all__ = ["DEFAULT_WEIGHTS_FILE", "explorer_router", "read_default_weights"]

STATIC = Path(__file__).resolve().parent / "static"
DEFAULT_WEIGHTS_FILE = "default_weights.json"
MAX_DIVISIONS = 20


class FrontRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["search", "recommend"] = "search"
    query: (
        Annotated[
            str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS)
        ]
        | None
    ) = None
    user_id: Id | None = None
    session_items: list[Id] = Field(default_factory=list, max_length=MAX_SESSION_ITEMS)
    k: int = Field(10, ge=1, le=MAX_K, strict=True)
    divisions: int = Field(
        6, ge=1, le=MAX_DIVISIONS, strict=True, description="Grid steps of 1/divisions."
    )
    weights: dict[str, float] | None = Field(
        None, description="One point instead of the grid: these weights' list and values."
    )
    maximize: str | None = Field(None, description="Pick the point best in this objective...")
    at_least: dict[str, float] = Field(
        default_factory=dict, description="...among those with at least these values."
    )


class DefaultWeightsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: dict[str, float]

    @field_validator("weights")
    @classmethod
    def _not_empty(cls, weights: dict[str, float]) -> dict[str, float]:
        if not weights:
            raise ValueError("weights is empty")
        return weights


def read_default_weights(root: Path) -> dict[str, float] | None:
    """The weights an admin chose for this registry (None where none were chosen)."""
    path = root / DEFAULT_WEIGHTS_FILE
    if not path.is_file():
        return None
    raw = json.loads(path.read_text())
    return {str(k): float(v) for k, v in raw.items()}


def _query(body: FrontRequest) -> SearchQuery | RecommendQuery:
    if body.mode == "search":
        if body.query is None:
            raise RequestError("a search front needs a query")
        return SearchQuery(text=body.query, k=body.k, user_id=body.user_id)
    if body.user_id is None and not body.session_items:
        raise RequestError("a recommend front needs a user_id or session_items")
    return RecommendQuery(k=body.k, user_id=body.user_id, session_items=tuple(body.session_items))


def explorer_router(
    pipeline: ServingPipeline, *, admin: Any, registry_root: Path | None
) -> APIRouter:
    """The explorer's routes around `pipeline`; `admin` guards the admin route."""
    router = APIRouter()

    @router.get("/explorer", response_class=HTMLResponse, tags=["explorer"])
    def page() -> HTMLResponse:
        """The trade-off explorer (open it in a browser)."""
        return HTMLResponse((STATIC / "explorer.html").read_text())

    @router.get("/explorer/plotly.js", tags=["explorer"], include_in_schema=False)
    def plotly_js() -> FileResponse:
        import plotly

        path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        return FileResponse(path, media_type="text/javascript")

    @router.get("/explorer/config", tags=["explorer"])
    def config() -> dict[str, Any]:
        """The objectives the served model weighs and the weights it uses by default."""
        scoring_policy = pipeline.policy
        names = pipeline.objectives()
        preference, _ = pipeline.preference(names, None, scoring_policy)
        return {
            "objectives": list(names),
            "default_weights": preference.as_dict(),
            "chosen_by_admin": pipeline.preferred is not None,
            "recommend": pipeline.recommender is not None,
            "ordered_by": "policy"
            if scoring_policy is not None
            else ("weighted sum of ranker predictions" if pipeline.ranker else "retrieval"),
        }

    @router.post("/front", tags=["explorer"])
    def front(body: FrontRequest) -> dict[str, Any]:
        """The lists and objective values across the weight simplex for one request."""
        try:
            found = request_front(
                pipeline,
                _query(body),
                divisions=body.divisions if body.weights is None else None,
                weights=body.weights,
                maximize=body.maximize,
                at_least=body.at_least,
            )
        except (ValueError, LookupError) as error:
            raise RequestError(str(error)) from error
        return {
            "objectives": list(found.objectives),
            "measured": list(found.measured),
            "points": [
                {
                    "weights": p.weights,
                    "values": p.values,
                    "item_ids": list(p.item_ids),
                    "seller_exposure": p.seller_exposure,
                    "dominated": p.dominated,
                }
                for p in found.points
            ],
            "knee": found.knee,
            "compromise": found.compromise,
            "chosen": found.chosen,
            "ordered_by": found.ordered_by,
            "notes": list(found.notes),
        }

    @router.post("/admin/default-weights", tags=["admin"], dependencies=[admin])
    def choose_defaults(body: DefaultWeightsIn) -> dict[str, Any]:
        """Serve these weights when a request gives none (kept across restarts)."""
        names = pipeline.objectives()
        try:
            preference = Preference.of(names, body.weights)
        except PreferenceError as error:
            raise RequestError(str(error)) from error
        if registry_root is not None:
            path = registry_root / DEFAULT_WEIGHTS_FILE
            staged = path.with_suffix(".tmp")
            staged.write_text(json.dumps(preference.as_dict(), indent=2))
            staged.replace(path)
        pipeline.preferred = preference
        return {"default_weights": preference.as_dict(), "kept": registry_root is not None}

    return router
