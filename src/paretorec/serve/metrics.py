"""Prometheus metrics of one service instance: request latency, counts, errors, stages,
and, with a drift watch, each watched feature's PSI against the training reference.

Each app has its own `CollectorRegistry` (no process-global state), exposed at
``GET /metrics`` in the Prometheus text format. Requests are labelled by route template
(``/items/{item_id}``, never the raw path), so labels stay few.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from paretorec.serve.drift import DriftWatch

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
        self.drift: DriftWatch | None = None
        self.drift_psi = Gauge(
            "paretorec_drift_psi",
            "Population stability index of a served feature against the training reference "
            "(absent until enough live values arrived).",
            ("feature",),
            registry=self.registry,
        )
        self.drift_warning = Gauge(
            "paretorec_drift_warning",
            "1 when a feature's PSI is above the warning threshold, else 0.",
            ("feature",),
            registry=self.registry,
        )
        self.drift_threshold = Gauge(
            "paretorec_drift_threshold", "The PSI warning threshold.", registry=self.registry
        )

    def _update_drift(self) -> None:
        watch = self.drift
        if watch is None:
            return
        self.drift_threshold.set(watch.threshold)
        for feature, value in watch.monitor.psi().items():
            if value is None:
                continue
            self.drift_psi.labels(feature).set(value)
            self.drift_warning.labels(feature).set(1.0 if value > watch.threshold else 0.0)

    def observe(self, *, route: str, method: str, status: int, seconds: float) -> None:
        self.latency.labels(route, method).observe(seconds)
        self.requests.labels(route, method, str(status)).inc()
        if status >= 500:
            self.errors.labels(route, "server").inc()
        elif status >= 400:
            self.errors.labels(route, "client").inc()

    def render(self) -> bytes:
        self._update_drift()
        return generate_latest(self.registry)
