"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.api.deps import MetricsDep, RegistryDep
from app.ml.schemas import HealthStatus

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthStatus, summary="Liveness")
def healthz() -> HealthStatus:
    return HealthStatus(status="ok")


@router.get(
    "/readyz",
    response_model=HealthStatus,
    responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"model": HealthStatus}},
    summary="Readiness: models loaded",
)
def readyz(registry: RegistryDep) -> HealthStatus | JSONResponse:
    if len(registry) == 0:
        return JSONResponse(
            HealthStatus(status="not ready", models=0).model_dump(),
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return HealthStatus(status="ready", models=len(registry))


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
    summary="Prometheus metrics",
)
def metrics(app_metrics: MetricsDep, registry: RegistryDep) -> Response:
    app_metrics.models_loaded.set(len(registry))
    return Response(generate_latest(app_metrics.registry), media_type=CONTENT_TYPE_LATEST)
