"""The FastAPI application: `uvicorn app.main:app`."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from app.api.fast_predict import FastPredict
from app.api.main import api_router
from app.core.config import Settings, configure_logging, get_settings
from app.core.metrics import Metrics, MetricsMiddleware, batch_observer
from app.ml.batching import Batchers
from app.ml.registry import ModelFileRefusedError, ModelRegistry

logger = logging.getLogger(__name__)


def operation_id(route: APIRoute) -> str:
    """`list_models` -> `listModels`: readable operation ids for generated clients."""
    first, *rest = route.name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def _json_safe(value: Any) -> Any:
    """NaN/Infinity (which Python's JSON parser accepts in requests) as strings, so echoing
    a rejected input back never makes the error response itself fail."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 shape ({"detail": [{type, loc, msg, input}]}), JSON-safe."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse(
        {"detail": _json_safe(jsonable_encoder(errors))},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def create_app(settings: Settings | None = None, registry: ModelRegistry | None = None) -> FastAPI:
    """Build the app. Without `registry`, start-up trains/loads the models (lifespan)."""
    settings = settings or get_settings()
    configure_logging(settings)
    metrics = Metrics()
    batchers = Batchers(
        enabled=settings.BATCHING_ENABLED,
        max_batch_size=settings.BATCH_MAX_SIZE,
        max_delay_s=settings.BATCH_MAX_DELAY_MS / 1000,
        observe=batch_observer(metrics),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "registry", None) is None:
            try:
                app.state.registry = await run_in_threadpool(ModelRegistry.from_settings, settings)
            except ModelFileRefusedError as exc:
                logger.critical("not starting: %s", exc)
                raise
        metrics.models_loaded.set(len(app.state.registry))
        logger.info(
            "ML gateway ready: %d models, batching %s",
            len(app.state.registry),
            f"on (up to {settings.BATCH_MAX_SIZE} instances, {settings.BATCH_MAX_DELAY_MS} ms)"
            if settings.BATCHING_ENABLED
            else "off",
        )
        try:
            yield
        finally:
            await batchers.close()

    app = FastAPI(
        title="ML gateway",
        version="0.1.0",
        summary="Serves scikit-learn models over HTTP and to the `ml.predict` Celery task.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.registry = registry
    app.state.batchers = batchers
    app.include_router(api_router)
    # Added first, so it runs inside the metrics middleware (the last added is the outermost).
    app.add_middleware(FastPredict, state=app.state)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    return app


app = create_app()
