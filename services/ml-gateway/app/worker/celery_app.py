"""The Celery application of the Python consumer of `ml.predict` (README.md):

DATABASE_URL=... REDIS_URL=... celery -A app.worker.celery_app worker -Q ml --concurrency 1
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import celeryd_after_setup

from app.core.config import Settings, get_settings

TASK_PREDICT = "ml.predict"


def create_celery_app(settings: Settings) -> Celery:
    """A Celery app talking to REDIS_URL (broker and result backend) with the JSON-only,
    late-ack configuration the task contract relies on."""
    celery = Celery("ml_gateway", include=["app.worker.tasks"])
    celery.conf.update(
        broker_url=settings.REDIS_URL,
        result_backend=settings.REDIS_URL,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=settings.CELERY_QUEUE,
        task_routes={TASK_PREDICT: {"queue": settings.CELERY_QUEUE}},
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": settings.CELERY_VISIBILITY_TIMEOUT_S,
            "unacked_restore_interval": settings.CELERY_RESTORE_INTERVAL_S,
            "unacked_restore_throttle": 1,
        },
        worker_hijack_root_logger=True,
        enable_utc=True,
    )
    return celery


celery_app = create_celery_app(get_settings())


@celeryd_after_setup.connect
def _load_models_before_consuming(**_: Any) -> None:
    """Train/load the models in the worker's main process once logging is set up and before
    the pool starts and tasks are consumed (prefork children inherit the models)."""
    from app.ml.registry import get_shared_registry  # noqa: PLC0415 - only in workers

    settings = get_settings()
    logging.getLogger("app").setLevel(settings.LOG_LEVEL)
    get_shared_registry(settings)
