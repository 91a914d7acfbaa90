"""Prometheus metrics of one app instance (own CollectorRegistry, so tests can build many
apps in one process)."""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Route label for requests that matched no route (keeps label cardinality bounded).
UNMATCHED_ROUTE = "<unmatched>"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "ml_gateway_http_requests",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "ml_gateway_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.predictions = Counter(
            "ml_gateway_predictions",
            "Instances predicted by model (HTTP API).",
            ["model"],
            registry=self.registry,
        )
        self.prediction_requests = Counter(
            "ml_gateway_prediction_requests",
            "Prediction requests by model and outcome (ok, invalid).",
            ["model", "outcome"],
            registry=self.registry,
        )
        self.model_calls = Counter(
            "ml_gateway_model_calls",
            "Model calls made for HTTP requests (one per batch when batching).",
            ["model"],
            registry=self.registry,
        )
        self.batch_instances = Histogram(
            "ml_gateway_batch_instances",
            "Instances per model call for HTTP requests.",
            ["model"],
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
            registry=self.registry,
        )
        self.batch_requests = Histogram(
            "ml_gateway_batch_requests",
            "Requests (or batch items) answered per model call.",
            ["model"],
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=self.registry,
        )
        self.models_loaded = Gauge(
            "ml_gateway_models_loaded",
            "Models the registry serves.",
            registry=self.registry,
        )


class MetricsMiddleware:
    """Counts requests and observes latency, labelled by the matched route's template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = (
                route.path if isinstance(route, BaseRoute) and hasattr(route, "path") else None
            )
            label = template if isinstance(template, str) else UNMATCHED_ROUTE
            method = str(scope.get("method", ""))
            self.metrics.http_requests.labels(method, label, str(status)).inc()
            self.metrics.http_latency.labels(method, label).observe(time.perf_counter() - started)


def batch_observer(metrics: Metrics) -> Callable[[str, int, int], None]:
    """Records one model call of `instances` rows for `requests` requests."""

    def observe(model: str, instances: int, requests: int) -> None:
        metrics.model_calls.labels(model).inc()
        metrics.batch_instances.labels(model).observe(instances)
        metrics.batch_requests.labels(model).observe(requests)

    return observe
