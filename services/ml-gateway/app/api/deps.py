"""Dependencies of the route handlers, as Annotated aliases.

`async def` on purpose: FastAPI runs a plain `def` dependency in its thread pool, one thread
hop per dependency per request, which cost more than the model call itself.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request, Response
from pydantic import BaseModel

from app.core.config import Settings
from app.core.metrics import Metrics
from app.ml.batching import Batchers
from app.ml.registry import ModelRegistry


async def get_settings_dep(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def get_registry(request: Request) -> ModelRegistry:
    """The app's model registry (an empty one until start-up finished)."""
    registry = getattr(request.app.state, "registry", None)
    return registry if isinstance(registry, ModelRegistry) else ModelRegistry()


async def get_metrics(request: Request) -> Metrics:
    return cast(Metrics, request.app.state.metrics)


async def get_batchers(request: Request) -> Batchers:
    return cast(Batchers, request.app.state.batchers)


def json_response(body: BaseModel) -> Response:
    """`body` as a JSON response, serialized once by pydantic-core. A route declaring
    `response_model` that returns a model instead has FastAPI dump it to a dict, validate that
    again against the response model and encode it with `json`: three passes in Python where
    this is one in Rust."""
    return Response(body.model_dump_json(), media_type="application/json")


class AppState:
    """What a hot route needs of the app, read from `request.app.state` without dependency
    injection (each `Depends` costs its own resolution on every request)."""

    __slots__ = ("batchers", "metrics", "registry", "settings")

    def __init__(self, request: Request) -> None:
        state = request.app.state
        self.settings = cast(Settings, state.settings)
        self.metrics = cast(Metrics, state.metrics)
        self.batchers = cast(Batchers, state.batchers)
        registry = getattr(state, "registry", None)
        self.registry = registry if isinstance(registry, ModelRegistry) else ModelRegistry()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
BatchersDep = Annotated[Batchers, Depends(get_batchers)]
