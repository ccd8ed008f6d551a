"""The HTTP service: `create_app` builds a FastAPI app around a `ServingPipeline`.

Read endpoints (``/search``, ``/recommend``, ``/items/{id}``, ``/healthz``, ``/metrics``)
are open, and so is ``/events`` (feedback from the shop's front end); catalog changes and
model promotion need the admin bearer token. Every bad request gets a 4xx with a message
that says what is wrong; the OpenAPI document is at ``/openapi.json`` and ``/docs``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from anyio import to_thread
from fastapi import Depends, FastAPI
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paretorec.retrieve import Filters
from paretorec.serve.auth import admin_guard
from paretorec.serve.catalog import ItemValueError, catalog_from_records
from paretorec.serve.changes import CatalogChange, ChangeJournal
from paretorec.serve.constraints import constraints_router
from paretorec.serve.docs import docs_router
from paretorec.serve.drift import EVENT, DriftWatch
from paretorec.serve.errors import error_response, install_error_handling
from paretorec.serve.event_log import EventLog, LoggedEvent
from paretorec.serve.explorer import explorer_router
from paretorec.serve.metrics import CONTENT_TYPE, ServiceMetrics
from paretorec.serve.pipeline import (
    RankedList,
    RecommendQuery,
    RequestError,
    SearchQuery,
    ServingPipeline,
    StageUnavailableError,
    UnknownItemError,
)
from paretorec.serve.registry import ModelKind, ModelRegistry, RegistryError
from paretorec.serve.schemas import (
    EventsAccepted,
    EventsPost,
    FiltersIn,
    Health,
    ItemRemoved,
    ItemsChanged,
    ItemsPut,
    Promoted,
    PromoteRequest,
    RankedResponse,
    RecommendRequest,
    RecommendResponse,
    RollbackRequest,
    ScoredItem,
    SearchRequest,
    StageInfo,
)

__all__ = ["MAX_BODY_BYTES", "create_app"]

MAX_BODY_BYTES = 8 << 20
Reloader = Callable[[ModelKind, str], None]


class _Instrument:
    """ASGI middleware: latency and counts by route template; refuses oversized bodies:
    by their Content-Length, or, for a body without one (chunked), by counting its bytes
    as they arrive (read up to the limit, then refused without reading the rest)."""

    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics, max_body: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        code = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                code[0] = int(message["status"])
            await send(message)

        length = dict(scope.get("headers") or []).get(b"content-length")
        try:
            if length is not None and length.isdigit():
                within = int(length) <= self.max_body
            else:
                buffered = await self._read_within_limit(receive)
                within = buffered is not None
                if buffered is not None:
                    receive = _replaying(buffered, receive)
            if within:
                await self.app(scope, receive, sending)
            else:
                response = error_response(413, f"the request body is over {self.max_body:,} bytes")
                await response(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(
                route=template,
                method=str(scope.get("method", "")),
                status=code[0],
                seconds=time.perf_counter() - start,
            )

    async def _read_within_limit(self, receive: Receive) -> list[Message] | None:
        """The body's messages up to its end, or None as soon as it is over the limit."""
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages  # a disconnect: the app sees it
            size += len(message.get("body", b""))
            if size > self.max_body:
                return None
            if not message.get("more_body", False):
                return messages


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """`receive` that gives `messages` first, then what the server sends next."""
    pending = deque(messages)

    async def replay() -> Message:
        return pending.popleft() if pending else await receive()

    return replay


def _filters(given: FiltersIn | None) -> Filters | None:
    if given is None:
        return None
    try:
        return Filters(
            category=given.category,
            min_price=given.min_price,
            max_price=given.max_price,
            in_stock=given.in_stock,
            brands=frozenset(given.brands) if given.brands is not None else None,
        )
    except ValueError as error:
        raise RequestError(f"filters: {error}") from error


def _stage_infos(pipeline: ServingPipeline) -> dict[str, StageInfo]:
    return {
        stage.value: StageInfo(loaded=s.loaded, version=s.version, detail=s.detail)
        for stage, s in pipeline.stages().items()
    }


def _ranked(pipeline: ServingPipeline, ranked: RankedList, start: float) -> dict[str, Any]:
    ids = [item.item_id for item in ranked.items]
    store = pipeline.store
    titles = store.values(ids, "title")
    prices = store.values(ids, "price")
    categories = store.values(ids, "category")
    brands = store.values(ids, "brand")
    sellers = store.values(ids, "seller_id")
    items = [
        ScoredItem(
            item_id=item.item_id,
            rank=rank,
            title=titles[rank - 1],
            price=prices[rank - 1],
            category=categories[rank - 1],
            brand=brands[rank - 1],
            seller_id=None if sellers[rank - 1] is None else str(sellers[rank - 1]),
            score=item.score,
            predictions=item.predictions,
            contributions=item.contributions,
            source=item.source,
            rules=list(item.rules),
            places=item.places,
            propensity=item.propensity,
            propensity_given_above=item.propensity_given_above,
        )
        for rank, item in enumerate(ranked.items, start=1)
    ]
    return {
        "items": items,
        "weights": ranked.weights,
        "weights_source": ranked.weights_source,
        "ordered_by": ranked.ordered_by,
        "stages": _stage_infos(pipeline),
        "notes": list(ranked.notes),
        "took_ms": (time.perf_counter() - start) * 1000.0,
        "explored": ranked.explored,
    }


def create_app(
    pipeline: ServingPipeline,
    *,
    admin_token: str | None,
    event_log: EventLog | None = None,
    journal: ChangeJournal | None = None,
    registry: ModelRegistry | None = None,
    reload: Reloader | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    request_threads: int | None = None,
    drift: DriftWatch | None = None,
) -> FastAPI:
    """The service around `pipeline`. `reload(kind, version)` swaps in a version before
    the registry promotes it (a version that fails to load is never promoted);
    `journal` keeps catalog changes across restarts (see `paretorec.serve.changes`);
    `request_threads` bounds how many requests compute at once (None: anyio's 40)."""
    if request_threads is not None and request_threads < 1:
        raise ValueError(f"request_threads must be at least 1, got {request_threads}")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Endpoints are sync: they run in anyio's worker threads, as many at once as its
        # limiter allows. Under overload, dozens of requests sharing the GIL all finish
        # late; a small pool serves them in turn, each at full speed.
        if request_threads is not None:
            to_thread.current_default_thread_limiter().total_tokens = request_threads
        yield

    metrics = ServiceMetrics()
    metrics.drift = drift  # PSI of what is served against the training reference
    changing = threading.Lock()  # one catalog change at a time: the journal keeps their order
    metrics.items.set(len(pipeline.store))
    pipeline.timer = lambda stage, seconds: metrics.stage_latency.labels(stage).observe(seconds)
    admin = Depends(admin_guard(admin_token))
    app = FastAPI(
        title="paretorec",
        summary="Multi-objective e-commerce search and recommendation.",
        description=__doc__,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by docs_router with local assets (offline)
        redoc_url=None,
    )
    app.add_middleware(_Instrument, metrics=metrics, max_body=max_body_bytes)

    # every error is one `ErrorBody`, declared on every operation of /openapi.json
    install_error_handling(app, weight_names=pipeline.objectives)

    @app.post("/search", response_model=RankedResponse, tags=["read"])
    def search(body: SearchRequest) -> dict[str, Any]:
        """Search the catalog: retrieval → ranker → policy, with per-item explanations."""
        start = time.perf_counter()
        query = SearchQuery(
            text=body.query,
            k=body.k,
            user_id=body.user_id,
            filters=_filters(body.filters),
            weights=body.weights,
            collapse_duplicates=body.collapse_duplicates,
        )
        ranked = pipeline.search(query)
        if drift is not None:
            drift.observe(body.query, ranked, pipeline.store)
        return _ranked(pipeline, ranked, start)

    @app.post("/recommend", response_model=RecommendResponse, tags=["read"])
    def recommend(body: RecommendRequest) -> dict[str, Any]:
        """Recommend for a shopper and/or her session items: recommender → ranker → policy."""
        start = time.perf_counter()
        query = RecommendQuery(
            k=body.k,
            user_id=body.user_id,
            session_items=tuple(body.session_items),
            exclude=tuple(body.exclude),
            filters=_filters(body.filters),
            weights=body.weights,
            collapse_duplicates=body.collapse_duplicates,
        )
        ranked = pipeline.recommend(query)
        if drift is not None:
            drift.observe(None, ranked, pipeline.store)
        return {**_ranked(pipeline, ranked, start), "ignored": list(ranked.ignored)}

    @app.get("/items/{item_id}", tags=["read"])
    def get_item(item_id: str) -> dict[str, Any]:
        """One catalog item, as served."""
        if item_id not in pipeline.store:
            raise UnknownItemError(item_id)
        record = pipeline.store.records([item_id])[0]
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in record.items()}

    @app.put("/items", response_model=ItemsChanged, tags=["admin"], dependencies=[admin])
    def put_items(body: ItemsPut) -> ItemsChanged:
        """Add or replace items; searchable and recommendable as soon as this returns."""
        records = [item.model_dump(exclude_none=True) for item in body.items]
        try:
            catalog = catalog_from_records(records)
        except ItemValueError as error:
            raise RequestError(f"items: {error}") from error
        with changing:  # upsert_items changes nothing when it refuses a value
            added, updated = pipeline.upsert_items(catalog)
            if journal is not None:
                journal.append([CatalogChange(put=tuple(records))])
        metrics.items.set(len(pipeline.store))
        return ItemsChanged(added=added, updated=updated, items=len(pipeline.store))

    @app.delete(
        "/items/{item_id}", response_model=ItemRemoved, tags=["admin"], dependencies=[admin]
    )
    def delete_item(item_id: str) -> ItemRemoved:
        """Remove an item from every later answer."""
        with changing:
            pipeline.remove_item(item_id)
            if journal is not None:
                journal.append([CatalogChange(removed=item_id)])
        metrics.items.set(len(pipeline.store))
        return ItemRemoved(removed=item_id, items=len(pipeline.store))

    @app.post("/events", response_model=EventsAccepted, tags=["feedback"])
    def post_events(body: EventsPost) -> EventsAccepted:
        """Append feedback to the durable log (fsync'd before the answer)."""
        if event_log is None:
            raise StageUnavailableError(
                "this service keeps no event log: start it with `--events DIR`"
            )
        unknown = sorted({e.item_id for e in body.events if not pipeline.store.ever_had(e.item_id)})
        if unknown:
            raise RequestError(f"events name items not in the catalog: {unknown[:10]}")
        now = datetime.now(UTC)
        logged = [
            LoggedEvent(
                user_id=e.user_id,
                item_id=e.item_id,
                event=e.event.value,
                timestamp=e.timestamp or now,  # the schema gives it in UTC
                session_id=e.session_id,
                query_id=e.query_id,
                position=e.position,
                propensity=e.propensity,
                propensity_given_above=e.propensity_given_above,
                value=e.value,
            )
            for e in body.events
        ]
        total = event_log.append(logged)
        metrics.events.inc(len(logged))
        # acknowledged = written; then the online counts learn from it
        ordered = sorted(logged, key=lambda e: e.timestamp)
        pipeline.observe_events([(e.user_id, e.item_id, e.event) for e in ordered])
        if drift is not None:
            drift.monitor.observe(EVENT, [e.event for e in logged])
        return EventsAccepted(appended=len(logged), total=total)

    @app.get("/healthz", response_model=Health, tags=["operations"])
    def healthz() -> Health:
        """Which stage versions are loaded; `degraded` when a scoring stage is missing."""
        stages = _stage_infos(pipeline)
        return Health(
            status="ok" if all(s.loaded for s in stages.values()) else "degraded",
            items=len(pipeline.store),
            stages=stages,
            events_logged=len(event_log) if event_log is not None else None,
        )

    @app.get("/metrics", tags=["operations"], response_class=Response)
    def prometheus() -> Response:
        """Prometheus text format: latency histograms, request and error counts, stages."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    def _registry() -> ModelRegistry:
        if registry is None:
            raise StageUnavailableError("this service was not started from a model registry")
        return registry

    def _serve_version(kind: ModelKind, version: str) -> None:
        if reload is None:
            return
        try:
            reload(kind, version)
        except RegistryError:
            raise
        except Exception as error:  # a verified version that still does not load
            raise RegistryError(
                f"{kind}/{version} does not load ({type(error).__name__}: {error}); "
                "the service and the registry are unchanged"
            ) from error

    @app.post("/admin/promote", response_model=Promoted, tags=["admin"], dependencies=[admin])
    def promote(body: PromoteRequest) -> Promoted:
        """Promote a version and serve it now: it is verified and loaded first, and the
        registry written only once it serves (a version that fails changes nothing)."""
        models = _registry()
        try:
            models.load(body.kind, body.version)  # verified even when serving with --no-verify
            _serve_version(body.kind, body.version)
            models.promote(body.kind, body.version)
        except RegistryError as error:
            raise RequestError(str(error)) from error
        return Promoted(kind=body.kind.value, version=body.version, reloaded=reload is not None)

    @app.post("/admin/rollback", response_model=Promoted, tags=["admin"], dependencies=[admin])
    def rollback(body: RollbackRequest) -> Promoted:
        """Return to the previously promoted version and serve it now (verified and loaded
        before the registry is written: a version that fails changes nothing)."""
        models = _registry()
        try:
            version = models.rollback_target(body.kind)
            _serve_version(body.kind, version)
            models.rollback(body.kind)
        except RegistryError as error:
            raise RequestError(str(error)) from error
        return Promoted(kind=body.kind.value, version=version, reloaded=reload is not None)

    app.include_router(constraints_router(pipeline, admin=admin))
    app.include_router(docs_router(title=app.title))
    app.include_router(
        explorer_router(
            pipeline,
            admin=admin,
            registry_root=registry.root if registry is not None else None,
            event_log=event_log.folder if event_log is not None else None,
        )
    )
    return app
