"""Prometheus metrics of one service instance: request latency, counts, errors, stages.

Each app has its own `CollectorRegistry` (no process-global state), exposed at
``GET /metrics`` in the Prometheus text format. Requests are labelled by route template
(``/items/{item_id}``, never the raw path), so labels stay few.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "ServiceMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)


class ServiceMetrics:
    """The service's metrics, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "paretorec_request_seconds",
            "Request latency by route, method and status class.",
            ("route", "method"),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "paretorec_requests",
            "Requests by route, method and status code.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.errors = Counter(
            "paretorec_errors",
            "Failed requests by route and kind (client: 4xx, server: 5xx).",
            ("route", "kind"),
            registry=self.registry,
        )
        self.stage_latency = Histogram(
            "paretorec_stage_seconds",
            "Time spent in each pipeline stage (encode, retrieve, rank, policy, recommend).",
            ("stage",),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.items = Gauge(
            "paretorec_catalog_items", "Items in the served catalog.", registry=self.registry
        )
        self.events = Counter(
            "paretorec_events_logged",
            "Feedback events appended to the log.",
            registry=self.registry,
        )

    def observe(self, *, route: str, method: str, status: int, seconds: float) -> None:
        self.latency.labels(route, method).observe(seconds)
        self.requests.labels(route, method, str(status)).inc()
        if status >= 500:
            self.errors.labels(route, "server").inc()
        elif status >= 400:
            self.errors.labels(route, "client").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
