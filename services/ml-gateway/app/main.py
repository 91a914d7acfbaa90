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
from starlette.types import Receive, Scope, Send

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


class GatewayApp(FastAPI):
    """The FastAPI app, with `FastPredict` in front of its whole middleware stack: a
    well-formed `POST /v1/models/{name}/predict` is answered there, anything else goes through
    the stack as usual."""

    fast_predict: FastPredict | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_predict is not None and scope["type"] == "http":
            await self.fast_predict(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def full_stack(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app without `FastPredict` (where it hands what it does not answer)."""
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    registry: ModelRegistry | None = None,
    *,
    fast_predict: bool = True,
) -> GatewayApp:
    """Build the app. Without `registry`, start-up trains/loads the models (lifespan).
    `fast_predict=False` leaves every request to FastAPI (the tests compare both)."""
    settings = settings or get_settings()
    configure_logging(settings)
    metrics = Metrics()
    batchers = Batchers(
        enabled=settings.BATCHING_ENABLED,
        max_batch_size=settings.BATCH_MAX_SIZE,
        max_delay_s=settings.BATCH_MAX_DELAY_MS / 1000,
        adaptive=settings.BATCH_ADAPTIVE,
        inline_max_s=settings.MODEL_INLINE_MAX_MS / 1000,
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
            (
                f"on (up to {settings.BATCH_MAX_SIZE} instances, "
                + (
                    "adaptive)"
                    if settings.BATCH_ADAPTIVE
                    else f"waiting up to {settings.BATCH_MAX_DELAY_MS} ms)"
                )
            )
            if settings.BATCHING_ENABLED
            else "off",
        )
        try:
            yield
        finally:
            await batchers.close()

    app = GatewayApp(
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
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    if fast_predict:
        app.fast_predict = FastPredict(app.full_stack, app.state, metrics)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    return app


app = create_app()
