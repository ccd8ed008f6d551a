"""The trade-off explorer: a page at ``/explorer`` and the JSON endpoints it reads.

The page (`static/explorer.html`, plain JavaScript, plotly.js served from the `plotly`
package: nothing from a CDN) talks only to this service:

- ``GET /explorer/config``: the objectives the served model weighs, the default weights
  and where they come from, whether /recommend is available;
- ``POST /front``: the request's front (`paretorec.serve.front`): the list and its
  objective values at each point of a simplex grid of weights, the knee, the compromise,
  and the best point under lower bounds ("best clicks with revenue at least X");
- ``GET /explorer/catalog-front``: the served policy's catalog-wide front, from its
  ``paretorec pareto --policy`` report (`paretorec.serve.catalog_front`), or why there is
  none;
- ``POST /front`` with ``"intervals": true``: each point also gets off-policy estimates
  with bootstrap intervals from the logged lists of the same request
  (`paretorec.serve.front_ope`), read from the data folder the served ranker was trained
  on and the service's own event log;
- ``POST /admin/default-weights`` (admin): serve these weights when a request gives none,
  kept in the registry folder (``default_weights.json``) so a restart keeps them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from paretorec.preference import Preference, PreferenceError
from paretorec.serve.catalog_front import CatalogFrontUnavailable, read_catalog_front
from paretorec.serve.front import RequestFront, request_front
from paretorec.serve.front_ope import (
    ESTIMATED,
    LoggedLists,
    load_logged_lists,
    point_estimates,
)
from paretorec.serve.pipeline import RecommendQuery, RequestError, SearchQuery, ServingPipeline
from paretorec.serve.registry import ModelKind, ModelRegistry, RegistryError
from paretorec.serve.schemas import MAX_K, MAX_QUERY_CHARS, MAX_SESSION_ITEMS, Id
from paretorec.stages import CandidateSet, RequestContext, Stage

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
    intervals: bool = Field(
        False, description="Off-policy estimates with 95% intervals from the logged lists."
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


class _LoggedLists:
    """The logged lists of `folders`, read on first use and again when a file changes
    (the event log grows as feedback is posted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[object, ...] | None = None
        self._logs: LoggedLists | None = None

    @staticmethod
    def _signature(folders: Sequence[Path]) -> tuple[object, ...]:
        stamps: list[object] = []
        for folder in folders:
            for path in sorted(folder.glob("events.*")) + sorted(folder.glob("queries.*")):
                stat = path.stat()
                stamps.append((str(path), stat.st_size, stat.st_mtime_ns))
        return tuple(stamps)

    def get(self, folders: Sequence[Path]) -> LoggedLists | None:
        with self._lock:
            key = self._signature(folders)
            if key != self._key:
                self._logs = load_logged_lists(folders)
                self._key = key
            return self._logs


def _log_folders(
    pipeline: ServingPipeline, registry_root: Path | None, event_log: Path | None
) -> list[Path]:
    """Where logged lists are looked for: the data the served ranker was trained on (its
    manifest's data folder) and the service's own event log."""
    folders = []
    version = pipeline.versions.get(Stage.RANKER)
    if registry_root is not None and version is not None and pipeline.ranker is not None:
        try:
            data = ModelRegistry(registry_root).manifest(ModelKind.RANKER, version).data
        except RegistryError:
            data = None
        if data is not None and Path(data).is_dir():
            folders.append(Path(data))
    if event_log is not None and event_log.is_dir():
        folders.append(event_log)
    return folders


def _empty_scoring(pipeline: ServingPipeline) -> tuple[tuple[str, ...], str, Any]:
    """The objectives, ordering and policy the service's scoring gives (an empty request:
    no model runs, the same decisions are made)."""
    empty = CandidateSet((), np.zeros(0, dtype=np.int64), np.zeros(0), ())
    with pipeline.lock.reading():
        scoring = pipeline.scoring(RequestContext(None, None, None, ()), empty)
    return scoring.names, scoring.ordered_by, scoring.policy


def _intervals(
    pipeline: ServingPipeline,
    logs: LoggedLists | None,
    query: SearchQuery | RecommendQuery,
    found: RequestFront,
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], str | None]:
    """The off-policy intervals of each point, or None and why there are none."""
    if logs is None:
        return (
            None,
            [],
            (
                "no off-policy intervals: no logged lists with propensities (the served "
                "ranker's training data and the service's event log have none)"
            ),
        )
    text = query.text if isinstance(query, SearchQuery) else None
    rows = logs.request(query=text, user=query.user_id if text is None else None)
    if rows.size == 0:
        who = f"the query {text!r}" if text is not None else f"the shopper {query.user_id!r}"
        return None, [], f"no off-policy intervals: no logged lists for {who}"
    wanted = [n for n in found.measured if n in ESTIMATED]
    if not wanted:
        return None, [], "no off-policy intervals: the front measures nothing the logs reward"
    shown = sorted({logs.item_ids[r] for r in rows.tolist()})
    prices = dict(zip(shown, _prices(pipeline, shown), strict=True))
    estimates = point_estimates(logs, rows, [p.item_ids for p in found.points], prices, wanted)
    summary = {
        "objectives": wanted,
        "estimator": "IIPS (independent items, marginal item-position propensities)",
        "alpha": estimates[0].intervals[wanted[0]].alpha,
        "n_bootstrap": estimates[0].intervals[wanted[0]].n_bootstrap,
        "n_lists": estimates[0].n_lists,
        "sources": list(logs.sources),
    }
    per_point = [
        {
            "values": {
                name: {"mean": i.mean, "lower": i.lower, "upper": i.upper}
                for name, i in e.intervals.items()
            },
            "support": e.support,
            "matched": e.matched,
        }
        for e in estimates
    ]
    return summary, per_point, None


def _prices(pipeline: ServingPipeline, item_ids: Sequence[str]) -> list[float]:
    """Each item's price in the catalog (0 where it has none or is gone)."""
    column = pipeline.store.column("price")
    known = [i for i in item_ids if i in pipeline.store]
    rows = dict(zip(known, pipeline.store.rows_of(known).tolist(), strict=True)) if known else {}
    out = []
    for item in item_ids:
        value = column[rows[item]] if item in rows else None
        out.append(float(value) if value is not None else 0.0)
    return out


def explorer_router(
    pipeline: ServingPipeline,
    *,
    admin: Any,
    registry_root: Path | None,
    event_log: Path | None = None,
) -> APIRouter:
    """The explorer's routes around `pipeline`; `admin` guards the admin route;
    `event_log` is the folder of the service's feedback log (logged lists)."""
    router = APIRouter()
    logged = _LoggedLists()

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
        names, ordered_by, scoring_policy = _empty_scoring(pipeline)
        preference, _ = pipeline.preference(names, None, scoring_policy)
        return {
            "objectives": list(names),
            "default_weights": preference.as_dict(),
            "chosen_by_admin": pipeline.preferred is not None,
            "recommend": pipeline.recommender is not None,
            "ordered_by": ordered_by,
        }

    @router.get("/explorer/catalog-front", tags=["explorer"])
    def catalog_front() -> dict[str, Any]:
        """The served policy's catalog-wide front (its `paretorec pareto --policy` report
        in MODELS/fronts/VERSION/), or why there is none."""
        policy = pipeline.policy
        version = pipeline.versions.get(Stage.POLICY) if policy is not None else None
        names = policy.objectives if policy is not None else pipeline.objectives()
        try:
            found = read_catalog_front(registry_root, version, names)
        except CatalogFrontUnavailable as error:
            return {"available": False, "message": str(error)}
        return {
            "available": True,
            "version": found.version,
            "path": str(found.path),
            "objectives": list(found.objectives),
            "points": [{"weights": p.weights, "values": p.values} for p in found.points],
            "chosen": found.chosen,
        }

    @router.post("/front", tags=["explorer"])
    def front(body: FrontRequest) -> dict[str, Any]:
        """The lists and objective values across the weight simplex for one request."""
        query = _query(body)
        try:
            found = request_front(
                pipeline,
                query,
                divisions=body.divisions if body.weights is None else None,
                weights=body.weights,
                maximize=body.maximize,
                at_least=body.at_least,
            )
        except (ValueError, LookupError) as error:
            raise RequestError(str(error)) from error
        notes = list(found.notes)
        summary: dict[str, Any] | None = None
        per_point: list[dict[str, Any]] = [{} for _ in found.points]
        if body.intervals:
            try:
                logs = logged.get(_log_folders(pipeline, registry_root, event_log))
                summary, estimates, missing = _intervals(pipeline, logs, query, found)
            except ValueError as error:  # a log the estimators cannot read: say so, no 500
                summary, estimates, missing = None, None, f"no off-policy intervals: {error}"
            per_point = estimates or per_point
            if missing is not None:
                notes.append(missing)
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
                    "ope": extra.get("values"),
                    "support": extra.get("support"),
                    "matched": extra.get("matched"),
                }
                for p, extra in zip(found.points, per_point, strict=True)
            ],
            "knee": found.knee,
            "compromise": found.compromise,
            "chosen": found.chosen,
            "ordered_by": found.ordered_by,
            "intervals": summary,
            "notes": notes,
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
