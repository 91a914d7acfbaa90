"""The `ml.predict` task: the Python consumer of the prediction lifecycle (README.md, "The
Python consumer"; the TypeScript worker follows the same contract).

A message carries two ids and nothing else is believed: the tenant and its schema come from
`platform.tenants`, the model and the inputs from the prediction's row.
"""

from __future__ import annotations

import functools
import logging
import random
import uuid
from typing import Any

import psycopg
import redis
from celery import Task
from celery.signals import task_postrun

from app.core.config import get_settings
from app.ml.model import InvalidInputError
from app.ml.registry import UnknownModelError, get_shared_registry
from app.worker.celery_app import TASK_PREDICT, celery_app
from app.worker.lifecycle import (
    MAX_ATTEMPTS,
    PredictionStore,
    Tenant,
    TenantNotReadyError,
)

logger = logging.getLogger(__name__)

#: Retries after the first attempt, and their back-off (the TypeScript worker's PREDICT_RETRY).
MAX_RETRIES = MAX_ATTEMPTS - 1
RETRY_BASE_S = 0.5
RETRY_MAX_S = 10.0
#: The retry delay is spread by +-25 %, as the TypeScript engine does.
RETRY_JITTER = 0.25
#: Header of a message admitted under a fairness slot (packages/celery's FAIR_SLOT_HEADER):
#: {"key": <sorted set>, "member": <task id>}; released when the delivery is done.
FAIR_SLOT_HEADER = "x-fair-slot"
FAIR_RELEASED_CHANNEL = "platform:fair:released"


class PredictionRequestError(ValueError):
    """Fails the task for good (FAILURE, no retry): a bad message, a tenant that is not ready,
    a missing prediction, input the model rejects, or a prediction that failed before."""


def retry_delay_s(retries: int) -> float:
    """min(10 s, 0.5 s * 2^retries), +-25 %."""
    delay = min(RETRY_MAX_S, RETRY_BASE_S * 2.0**retries)
    return delay * random.uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER)  # noqa: S311 - not secret


def _parse_uuid(field: str, value: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise PredictionRequestError(f"{field} must be a UUID, not {value!r}") from None


def _stored_result(row: dict[str, Any]) -> dict[str, Any]:
    output = row.get("output") or {}
    return {
        "prediction_id": str(row["id"]),
        "model": row["model"],
        "status": "succeeded",
        "version": row.get("model_version"),
        "predictions": output.get("predictions"),
        "probabilities": output.get("probabilities"),
    }


@celery_app.task(
    name=TASK_PREDICT,
    bind=True,
    # Expected failures: recorded as FAILURE, logged without a traceback.
    throws=(PredictionRequestError,),
    max_retries=MAX_RETRIES,
)
def predict(self: Task[Any, Any], /, **kwargs: Any) -> dict[str, Any]:
    """Run the prediction `prediction_id` of tenant `tenant_id` (the only two arguments).

    Returns {prediction_id, model, status, version, predictions, probabilities}.
    """
    unexpected = sorted(set(kwargs) - {"tenant_id", "prediction_id"})
    if unexpected or self.request.args:
        raise PredictionRequestError(
            "ml.predict takes only the keyword arguments tenant_id and prediction_id; "
            f"got {', '.join(unexpected) or 'positional arguments'}"
        )
    tenant_id = _parse_uuid("tenant_id", kwargs.get("tenant_id"))
    prediction_id = _parse_uuid("prediction_id", kwargs.get("prediction_id"))
    settings = get_settings()
    if settings.DATABASE_URL is None:
        raise PredictionRequestError("DATABASE_URL is not set: the consumer cannot run")
    try:
        with PredictionStore.connect(settings.DATABASE_URL) as store:
            return _run(self, store, tenant_id, prediction_id)
    except psycopg.OperationalError as exc:
        # The database is unreachable: nothing (more) was recorded. A claimed row stays
        # `running`, and the next attempt claims it again.
        _retry_or_give_up(self, exc)
        raise  # not reached: _retry_or_give_up raises


def _retry_or_give_up(task: Task[Any, Any], exc: Exception) -> None:
    if task.request.retries >= MAX_RETRIES:
        raise exc
    raise task.retry(exc=exc, countdown=retry_delay_s(task.request.retries))


def _run(
    task: Task[Any, Any], store: PredictionStore, tenant_id: uuid.UUID, prediction_id: uuid.UUID
) -> dict[str, Any]:
    try:
        tenant: Tenant = store.ready_tenant(tenant_id)
    except TenantNotReadyError as exc:
        raise PredictionRequestError(str(exc)) from None
    claimed = store.claim(tenant, prediction_id)
    if claimed is None:
        return _finished(store, tenant, prediction_id)

    settings = get_settings()
    registry = get_shared_registry(settings)
    try:
        model = registry.get(claimed.model)
        x = model.validate_instances(claimed.input, max_batch=settings.MAX_BATCH)
        result = model.predict(x)
    except (UnknownModelError, InvalidInputError) as exc:
        message = str(exc)
        store.record_failed(tenant, prediction_id, message)
        logger.info("prediction %s (tenant %s) rejected: %s", prediction_id, tenant.slug, message)
        raise PredictionRequestError(message) from None
    except Exception as exc:  # a model that cannot run now: transient, like a 5xx
        message = f"{type(exc).__name__}: {exc}"
        retries_left = claimed.attempts < MAX_ATTEMPTS and task.request.retries < MAX_RETRIES
        if not retries_left:
            given_up = f"gave up after {claimed.attempts} attempts: {message}"
            store.record_failed(tenant, prediction_id, given_up)
            logger.warning("prediction %s (tenant %s) %s", prediction_id, tenant.slug, given_up)
            raise PredictionRequestError(given_up) from None
        store.record_queued(tenant, prediction_id, message)
        logger.warning(
            "prediction %s (tenant %s) attempt %d failed, retrying: %s",
            prediction_id,
            tenant.slug,
            claimed.attempts,
            message,
        )
        raise task.retry(exc=exc, countdown=retry_delay_s(task.request.retries)) from None

    store.record_succeeded(
        tenant,
        prediction_id,
        {"predictions": result.predictions, "probabilities": result.probabilities},
        model.version,
    )
    logger.info(
        "prediction %s (tenant %s, task %s): %d instances with %s@%s",
        prediction_id,
        tenant.slug,
        task.request.id,
        len(result.predictions),
        model.name,
        model.version,
    )
    return {
        "prediction_id": str(prediction_id),
        "model": model.name,
        "status": "succeeded",
        "version": model.version,
        "predictions": result.predictions,
        "probabilities": result.probabilities,
    }


def _finished(store: PredictionStore, tenant: Tenant, prediction_id: uuid.UUID) -> dict[str, Any]:
    """A delivery of a prediction that is no longer queued or running: write nothing."""
    row = store.find(tenant, prediction_id)
    if row is None:
        raise PredictionRequestError(f"prediction {prediction_id} does not exist")
    if row["status"] == "failed":
        raise PredictionRequestError(row.get("error") or "prediction failed")
    return _stored_result(row)


@functools.cache
def _slots_redis() -> redis.Redis:
    """The Redis holding the fairness slots: the broker's (REDIS_URL)."""
    return redis.Redis.from_url(get_settings().REDIS_URL)


def fair_slot_of(request: Any) -> tuple[str, str] | None:
    """The (key, member) of the fairness slot a delivery holds, from its message headers."""
    slot = getattr(request, FAIR_SLOT_HEADER, None)
    if not isinstance(slot, dict):
        return None
    key, member = slot.get("key"), slot.get("member")
    if isinstance(key, str) and isinstance(member, str):
        return key, member
    return None


@task_postrun.connect
def release_fair_slot(task: Task[Any, Any] | None = None, **_: Any) -> None:
    """Frees the fairness slot of a finished delivery (success, failure or retry, as the
    TypeScript worker does at acknowledgement) and wakes the outbox relay, so the tenant's next
    prediction is admitted. A release that fails is logged; the slot expires on its own."""
    slot = fair_slot_of(task.request) if task is not None else None
    if slot is None or task is None:
        return
    key, member = slot
    try:
        pipe = _slots_redis().pipeline(transaction=True)
        pipe.zrem(key, member)
        pipe.publish(FAIR_RELEASED_CHANNEL, key)
        pipe.execute()
    except Exception:  # a lost release only delays its tenant until the slot expires
        logger.warning("could not release fairness slot %s of task %s", key, member, exc_info=True)
