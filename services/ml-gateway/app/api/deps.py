"""Dependencies of the route handlers, as Annotated aliases.

`async def` on purpose: FastAPI runs a plain `def` dependency in its thread pool, one thread
hop per dependency per request, which cost more than the model call itself.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

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


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
BatchersDep = Annotated[Batchers, Depends(get_batchers)]
