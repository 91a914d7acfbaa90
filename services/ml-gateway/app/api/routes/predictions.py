"""Several predictions in one request, each with its own result or error."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError

from app.api.deps import AppState, json_response
from app.core.metrics import Metrics
from app.ml.batching import Batchers
from app.ml.model import InvalidInputError
from app.ml.registry import ModelRegistry, UnknownModelError
from app.ml.schemas import (
    BatchItem,
    BatchItemResult,
    BatchPredictRequest,
    BatchPredictResponse,
    ItemError,
    ItemInputError,
)

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/predictions", tags=["predictions"])


async def _predict_item(
    item: BatchItem,
    registry: ModelRegistry,
    batchers: Batchers,
    metrics: Metrics,
    max_batch: int,
) -> BatchItemResult:
    try:
        model = registry.get(item.model)
    except UnknownModelError as exc:
        error = ItemError(status=404, code="unknown_model", message=str(exc))
        return BatchItemResult(ok=False, model=item.model, error=error)
    try:
        x = model.validate_instances(item.instances, max_batch=max_batch)
        result = await batchers.predict(model, x, gathered=True)
    except InvalidInputError as exc:
        metrics.prediction_requests.labels(model.name, "invalid").inc()
        error = ItemError(
            status=422,
            code="invalid_input",
            message=str(exc),
            errors=[ItemInputError(loc=list(e.loc), msg=e.msg, type=e.type) for e in exc.errors],
        )
        return BatchItemResult(ok=False, model=model.name, version=model.version, error=error)
    except Exception:
        logger.exception("batch item for model %s failed", model.name)
        error = ItemError(status=500, code="internal_error", message="prediction failed")
        return BatchItemResult(ok=False, model=model.name, version=model.version, error=error)
    metrics.prediction_requests.labels(model.name, "ok").inc()
    metrics.predictions.labels(model.name).inc(len(result.predictions))
    return BatchItemResult(
        ok=True,
        model=model.name,
        version=model.version,
        predictions=result.predictions,
        probabilities=result.probabilities,
    )


@router.post(
    "/batch",
    response_model=BatchPredictResponse,
    summary="Predict several items (each a model and its instances) in one request",
)
async def predict_batch(body: BatchPredictRequest, request: Request) -> Response:
    """200 with one result per item, in order: `ok` with the prediction, or `error` with the
    status, code and message the item would have had alone. Items for the same model share
    model calls. Only a malformed envelope (no items, too many, unknown fields) is a 422."""
    app = AppState(request)
    settings = app.settings
    if len(body.items) > settings.MAX_BATCH_ITEMS:
        raise RequestValidationError(
            [
                {
                    "type": "too_long",
                    "loc": ("body", "items"),
                    "msg": f"{len(body.items)} items exceed MAX_BATCH_ITEMS "
                    f"({settings.MAX_BATCH_ITEMS})",
                    "input": None,
                }
            ]
        )
    results = await asyncio.gather(
        *(
            _predict_item(item, app.registry, app.batchers, app.metrics, settings.MAX_BATCH)
            for item in body.items
        )
    )
    return json_response(BatchPredictResponse(results=list(results)))
