"""The `ml.predict` task (contract in README.md, shared with the TypeScript worker/API)."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import psycopg
from celery import Task
from psycopg import sql
from psycopg.types.json import Jsonb

from app.core.config import get_settings
from app.ml.model import InvalidInputError
from app.ml.registry import UnknownModelError, get_shared_registry
from app.worker.celery_app import TASK_PREDICT, celery_app

logger = logging.getLogger(__name__)

TENANT_SCHEMA_RE = re.compile(r"^tenant_[a-z][a-z0-9_]{1,38}[a-z0-9]$")

_SUCCEEDED = sql.SQL(
    "update {schema}.predictions set status='succeeded', output=%s::jsonb, model_version=%s,"
    " error=null, attempts=attempts+1, completed_at=now(), updated_at=now()"
    " where id=%s and status <> 'succeeded'"
)
_FAILED = sql.SQL(
    "update {schema}.predictions set status='failed', output=null, model_version=%s,"
    " error=%s, attempts=attempts+1, completed_at=now(), updated_at=now()"
    " where id=%s and status <> 'succeeded'"
)


class PredictionRequestError(ValueError):
    """The task's arguments cannot be served (bad schema/id, unknown model, bad inputs)."""


def _parse_uuid(field: str, value: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise PredictionRequestError(f"{field} must be a UUID, not {value!r}") from None


def _record(
    database_url: str | None,
    schema: str,
    query: sql.SQL,
    params: tuple[Any, ...],
    prediction_id: uuid.UUID,
) -> None:
    """Run one outcome update in the tenant's schema (no-op without DATABASE_URL)."""
    if database_url is None:
        return
    statement = query.format(schema=sql.Identifier(schema))
    with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as conn:
        rowcount = conn.execute(statement, params).rowcount
    if rowcount == 0:
        logger.warning(
            "prediction %s in %s not updated: no such row, or it already succeeded",
            prediction_id,
            schema,
        )


@celery_app.task(
    name=TASK_PREDICT,
    bind=True,
    # Expected failures: recorded as FAILURE, logged without a traceback.
    throws=(PredictionRequestError,),
    # Only a database outage is worth retrying; bad input fails at once.
    autoretry_for=(psycopg.OperationalError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
)
def predict(
    self: Task[Any, Any],
    *,
    tenant_id: str,
    tenant_schema: str,
    prediction_id: str,
    model: str,
    inputs: Any,
) -> dict[str, Any]:
    """Predict `inputs` with `model` and record the outcome in `<tenant_schema>.predictions`.

    Returns {prediction_id, model, version, predictions, probabilities}, which is also the
    row's `output`. Bad input marks the row failed and raises PredictionRequestError.
    """
    settings = get_settings()
    if not isinstance(tenant_schema, str) or not TENANT_SCHEMA_RE.fullmatch(tenant_schema):
        raise PredictionRequestError(
            f"tenant_schema must match {TENANT_SCHEMA_RE.pattern}, not {tenant_schema!r}"
        )
    _parse_uuid("tenant_id", tenant_id)
    row_id = _parse_uuid("prediction_id", prediction_id)
    registry = get_shared_registry(settings)
    version: str | None = None
    try:
        loaded = registry.get(model)
        version = loaded.version
        x = loaded.validate_instances(inputs, max_batch=settings.MAX_BATCH)
        result = loaded.predict(x)
    except (UnknownModelError, InvalidInputError) as exc:
        message = str(exc)
        logger.info(
            "prediction %s (tenant %s, task %s) failed: %s",
            row_id,
            tenant_id,
            self.request.id,
            message,
        )
        _record(settings.DATABASE_URL, tenant_schema, _FAILED, (version, message, row_id), row_id)
        raise PredictionRequestError(message) from None
    # The row keeps the model's answer; the task result adds what identifies it.
    row_output: dict[str, Any] = {
        "predictions": result.predictions,
        "probabilities": result.probabilities,
    }
    output: dict[str, Any] = {
        "prediction_id": str(row_id),
        "model": loaded.name,
        "version": loaded.version,
        **row_output,
    }
    _record(
        settings.DATABASE_URL,
        tenant_schema,
        _SUCCEEDED,
        (Jsonb(row_output), loaded.version, row_id),
        row_id,
    )
    logger.info(
        "prediction %s (tenant %s, task %s): %d instances with %s@%s",
        row_id,
        tenant_id,
        self.request.id,
        len(result.predictions),
        loaded.name,
        loaded.version,
    )
    return output
