"""The Python side of the no-op comparison: a Celery 5 app with one task, `bench.noop`.

queue.ts runs it from this directory with the ml-gateway's virtualenv, as one process:

    celery -A celery_noop worker -Q bench.noop --pool threads --concurrency C \
        --without-gossip --without-mingle --without-heartbeat

The configuration is the platform's task contract (that of services/ml-gateway's Celery app):
JSON only, late acknowledgement, prefetch multiplier 1 (so the worker holds at most C
unacknowledged messages, as the TypeScript worker does), results in Redis.
"""

from __future__ import annotations

import os
import time
from typing import Any

from celery import Celery

REDIS_URL = os.environ["BENCH_QUEUE_REDIS_URL"]
QUEUE = os.environ.get("BENCH_QUEUE", "bench.noop")

app = Celery("celery_noop", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_default_queue=QUEUE,
    broker_connection_retry_on_startup=True,
    result_expires=86_400,
    enable_utc=True,
)


@app.task(name="bench.noop")
def noop(**_kwargs: Any) -> float:
    """Does nothing; returns when it ran, CLOCK_MONOTONIC in ms (the clock Node's
    process.hrtime reads), so the benchmark can compute the pick-up latency."""
    return time.monotonic() * 1000.0
