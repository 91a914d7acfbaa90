"""Model listing and prediction."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError

from app.api.deps import AppState, RegistryDep, json_response
from app.ml.model import InvalidInputError, LoadedModel
from app.ml.registry import UnknownModelError
from app.ml.schemas import ModelInfo, ModelList, PredictRequest, PredictResponse

router = APIRouter(prefix="/v1/models", tags=["models"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    status.HTTP_404_NOT_FOUND: {"description": "No model of that name is loaded."}
}


def _get_model(registry: RegistryDep, name: str) -> LoadedModel:
    try:
        return registry.get(name)
    except UnknownModelError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None


@router.get("", response_model=ModelList, summary="List the loaded models")
def list_models(registry: RegistryDep) -> ModelList:
    return ModelList(data=[model.info() for model in registry])


@router.get("/{name}", response_model=ModelInfo, responses=NOT_FOUND, summary="Describe one model")
def get_model(name: str, registry: RegistryDep) -> ModelInfo:
    return _get_model(registry, name).info()


@router.post(
    "/{name}/predict",
    response_model=PredictResponse,
    responses=NOT_FOUND,
    summary="Predict a batch of instances",
)
async def predict(name: str, body: PredictRequest, request: Request) -> Response:
    """Runs on the event loop; the model call runs in a worker thread, batched with the
    concurrent requests for the same model (BATCHING_ENABLED, BATCH_MAX_DELAY_MS)."""
    app = AppState(request)
    metrics = app.metrics
    model = _get_model(app.registry, name)
    try:
        x = model.validate_instances(
            body.instances, max_batch=app.settings.MAX_BATCH, check_values=False
        )
        result = await app.batchers.predict(model, x)
    except InvalidInputError as exc:
        metrics.prediction_requests.labels(model.name, "invalid").inc()
        raise RequestValidationError(
            [
                {
                    "type": error.type,
                    "loc": ("body", "instances", *error.loc),
                    "msg": error.msg,
                    "input": None,
                }
                for error in exc.errors
            ]
        ) from None
    metrics.prediction_requests.labels(model.name, "ok").inc()
    metrics.predictions.labels(model.name).inc(len(result.predictions))
    return json_response(
        PredictResponse(
            model=model.name,
            version=model.version,
            predictions=result.predictions,
            probabilities=result.probabilities,
        )
    )
