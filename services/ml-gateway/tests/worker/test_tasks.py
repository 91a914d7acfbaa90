"""`ml.predict` end to end: a real Celery worker process, the real Redis and PostgreSQL.

Each run uses its own queue name and its own tenant schema (dropped at the end).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
import redis
import skops.io as sio
from celery import Celery
from celery.result import AsyncResult
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from app.ml.builtin import load_split
from app.ml.registry import ModelRegistry
from app.worker.celery_app import TASK_PREDICT, create_celery_app
from app.worker.tasks import TENANT_SCHEMA_RE, PredictionRequestError
from tests.helpers import (
    SERVICE_DIR,
    categorical_digits_payload,
    database_url,
    make_settings,
    redis_url,
    wait_until,
)

pytestmark = pytest.mark.integration

RESULT_TIMEOUT = 60.0
WORKER_START_TIMEOUT = 120.0
WORKER_STOP_TIMEOUT = 30.0

PREDICTIONS_TABLE = """
create table {schema}.predictions (
  id uuid primary key default gen_random_uuid(),
  model text not null, model_version text, input jsonb not null,
  status text not null check (status in ('queued','running','succeeded','failed')),
  output jsonb, error text, attempts integer not null default 0, task_id text,
  created_at timestamptz(3) not null default now(), updated_at timestamptz not null default now(),
  completed_at timestamptz)
"""


@dataclass
class Worker:
    queue: str
    nodename: str
    process: subprocess.Popen[bytes]
    log_path: Path
    client: Celery
    task_ids: list[str] = field(default_factory=list)

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def send(self, **kwargs: Any) -> AsyncResult[Any]:
        result: AsyncResult[Any] = self.client.send_task(
            TASK_PREDICT, kwargs=kwargs, queue=self.queue
        )
        self.task_ids.append(result.id)
        return result

    def get(self, result: AsyncResult[Any]) -> Any:
        assert self.process.poll() is None, f"worker died:\n{self.log_tail()}"
        return result.get(timeout=RESULT_TIMEOUT)


@pytest.fixture(scope="module")
def pg() -> Iterator[psycopg.Connection[dict[str, Any]]]:
    try:
        conn = psycopg.connect(
            database_url(), autocommit=True, row_factory=dict_row, connect_timeout=10
        )
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL test database not reachable ({exc}); run scripts/test.sh, which "
            "creates it, or set ML_TEST_DATABASE_URL"
        )
    with conn:
        yield conn


@pytest.fixture(scope="module")
def tenant_schema(pg: psycopg.Connection[dict[str, Any]]) -> Iterator[str]:
    schema = f"tenant_mltest_{uuid.uuid4().hex[:12]}"
    assert TENANT_SCHEMA_RE.fullmatch(schema)
    identifier = sql.Identifier(schema)
    pg.execute(sql.SQL("create schema {}").format(identifier))
    try:
        pg.execute(sql.SQL(PREDICTIONS_TABLE).format(schema=identifier))
        yield schema
    finally:
        pg.execute(sql.SQL("drop schema {} cascade").format(identifier))


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """A real `celery worker` process consuming a queue of its own."""
    queue = f"ml-test-{uuid.uuid4().hex[:12]}"
    nodename = f"{queue}@{socket.gethostname()}"
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    model_dir = tmp_path_factory.mktemp("models")
    sio.dump(categorical_digits_payload(), model_dir / "digits-nb.skops")
    env = {
        **os.environ,
        "REDIS_URL": redis_url(),
        "DATABASE_URL": database_url(),
        "CELERY_QUEUE": queue,
        "MODEL_DIR": str(model_dir),
        "MAX_BATCH": "1000",
        "LOG_LEVEL": "INFO",
        "DISABLE_BUILTIN_MODELS": "false",
    }
    celery_bin = Path(sys.executable).with_name("celery")
    command = [
        str(celery_bin),
        "-A",
        "app.worker.celery_app",
        "worker",
        "-Q",
        queue,
        "-n",
        nodename,
        "--pool",
        "solo",
        "--concurrency",
        "1",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",
    ]
    client = create_celery_app(make_settings(REDIS_URL=redis_url(), CELERY_QUEUE=queue))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=SERVICE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    handle = Worker(queue, nodename, process, log_path, client)
    try:

        def replied() -> bool:
            assert process.poll() is None, f"worker exited early:\n{handle.log_tail()}"
            return bool(client.control.ping(destination=[nodename], timeout=0.5))

        wait_until(replied, timeout=WORKER_START_TIMEOUT, interval=0.2, what="worker ping")
        yield handle
    finally:
        process.send_signal(signal.SIGTERM)  # warm shutdown
        try:
            process.wait(timeout=WORKER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=WORKER_STOP_TIMEOUT)
        for task_id in handle.task_ids:
            AsyncResult(task_id, app=client).forget()
        connection = redis.Redis.from_url(redis_url())
        connection.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        connection.close()
        client.close()


def insert_prediction(
    pg: psycopg.Connection[dict[str, Any]], schema: str, model: str, inputs: Any
) -> str:
    row = pg.execute(
        sql.SQL(
            "insert into {}.predictions (model, input, status) values (%s, %s, 'queued') "
            "returning id"
        ).format(sql.Identifier(schema)),
        (model, Jsonb(inputs)),
    ).fetchone()
    assert row is not None
    return str(row["id"])


def fetch_prediction(
    pg: psycopg.Connection[dict[str, Any]], schema: str, prediction_id: str
) -> dict[str, Any]:
    row = pg.execute(
        sql.SQL("select * from {}.predictions where id = %s").format(sql.Identifier(schema)),
        (prediction_id,),
    ).fetchone()
    assert row is not None
    return row


def task_kwargs(schema: str, prediction_id: str, model: str, inputs: Any) -> dict[str, Any]:
    return {
        "tenant_id": str(uuid.uuid4()),
        "tenant_schema": schema,
        "prediction_id": prediction_id,
        "model": model,
        "inputs": inputs,
    }


def test_predict_succeeds_and_records_the_output(
    worker: Worker,
    pg: psycopg.Connection[dict[str, Any]],
    tenant_schema: str,
    registry: ModelRegistry,
) -> None:
    rows = load_split("iris").x_test[:7].tolist()
    prediction_id = insert_prediction(pg, tenant_schema, "iris", rows)

    result = worker.send(**task_kwargs(tenant_schema, prediction_id, "iris", rows))
    output = worker.get(result)

    model = registry.get("iris")
    assert model.classes is not None
    expected = [model.classes[int(i)] for i in model.estimator.predict(np.array(rows))]
    assert output["prediction_id"] == prediction_id
    assert (output["model"], output["version"]) == ("iris", model.version)
    assert output["predictions"] == expected
    np.testing.assert_allclose(np.sum(output["probabilities"], axis=1), 1.0, atol=1e-9)
    assert result.state == "SUCCESS"

    row = fetch_prediction(pg, tenant_schema, prediction_id)
    assert row["status"] == "succeeded"
    assert row["output"] == {k: output[k] for k in ("predictions", "probabilities")}
    assert row["model_version"] == model.version
    assert row["error"] is None
    assert row["attempts"] == 1
    assert row["completed_at"] is not None
    assert row["updated_at"] >= row["created_at"]


def test_regressor_prediction(
    worker: Worker,
    pg: psycopg.Connection[dict[str, Any]],
    tenant_schema: str,
    registry: ModelRegistry,
) -> None:
    rows = load_split("diabetes").x_test[:3].tolist()
    prediction_id = insert_prediction(pg, tenant_schema, "diabetes", rows)
    output = worker.get(worker.send(**task_kwargs(tenant_schema, prediction_id, "diabetes", rows)))
    expected = registry.get("diabetes").estimator.predict(np.array(rows))
    np.testing.assert_allclose(output["predictions"], expected, rtol=1e-12)
    assert output["probabilities"] is None
    row = fetch_prediction(pg, tenant_schema, prediction_id)
    assert row["status"] == "succeeded"
    assert row["output"] == {"predictions": output["predictions"], "probabilities": None}


@pytest.mark.parametrize(
    ("model", "inputs", "message"),
    [
        ("nope", [[1, 2, 3, 4]], "unknown model 'nope'"),
        (
            "iris",
            [[5.1, 3.5, 1.4, 0.2], [1, 2, 3]],
            "instance 1 has 3 features; model iris expects 4",
        ),
        ("iris", [[5.1, "x", 1.4, 0.2]], "instance 0 feature 1 (sepal width (cm)) is not a number"),
        ("iris", [], "instances must contain at least 1 instance"),
        ("iris", "not a list", "instances must be a list"),
        ("iris", [[1, 2, 3, 4]] * 1001, "batch of 1001 instances exceeds MAX_BATCH (1000)"),
        (
            "digits-nb",
            [[0.0] * 64, [-1.0] * 64],
            "model digits-nb cannot predict these instances: Negative values",
        ),
    ],
    ids=[
        "unknown-model",
        "wrong-count",
        "not-a-number",
        "empty",
        "not-a-list",
        "over-max-batch",
        "estimator-rejects",
    ],
)
def test_bad_request_fails_the_task_and_the_row(
    worker: Worker,
    pg: psycopg.Connection[dict[str, Any]],
    tenant_schema: str,
    registry: ModelRegistry,
    model: str,
    inputs: Any,
    message: str,
) -> None:
    prediction_id = insert_prediction(pg, tenant_schema, model, inputs)
    result = worker.send(**task_kwargs(tenant_schema, prediction_id, model, inputs))
    with pytest.raises(PredictionRequestError) as caught:
        worker.get(result)
    assert message in str(caught.value)
    assert result.state == "FAILURE"

    row = fetch_prediction(pg, tenant_schema, prediction_id)
    assert row["status"] == "failed"
    assert message in row["error"]
    assert row["output"] is None
    assert row["attempts"] == 1
    assert row["completed_at"] is not None
    expected_version = {"iris": registry.get("iris").version, "digits-nb": "nb-1"}.get(model)
    assert row["model_version"] == expected_version


def test_model_dir_models_are_served_by_the_worker(
    worker: Worker, pg: psycopg.Connection[dict[str, Any]], tenant_schema: str
) -> None:
    payload = categorical_digits_payload()
    rows = load_split("digits").x_test[:4].tolist()
    prediction_id = insert_prediction(pg, tenant_schema, "digits-nb", rows)
    output = worker.get(worker.send(**task_kwargs(tenant_schema, prediction_id, "digits-nb", rows)))
    expected = payload["estimator"].predict(np.array(rows, dtype=int)).tolist()
    assert (output["version"], output["predictions"]) == ("nb-1", expected)
    row = fetch_prediction(pg, tenant_schema, prediction_id)
    assert (row["status"], row["model_version"]) == ("succeeded", "nb-1")


def test_redelivery_leaves_a_succeeded_row_alone(
    worker: Worker, pg: psycopg.Connection[dict[str, Any]], tenant_schema: str
) -> None:
    rows = [[5.9, 3.0, 5.1, 1.8]]
    prediction_id = insert_prediction(pg, tenant_schema, "iris", rows)
    kwargs = task_kwargs(tenant_schema, prediction_id, "iris", rows)
    first = worker.get(worker.send(**kwargs))
    before = fetch_prediction(pg, tenant_schema, prediction_id)

    second = worker.get(worker.send(**kwargs))  # e.g. a redelivered message
    after = fetch_prediction(pg, tenant_schema, prediction_id)

    assert second == first
    assert after == before
    assert after["attempts"] == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tenant_schema": "public"}, "tenant_schema must match"),
        ({"tenant_schema": 'tenant_x"; drop table y; --'}, "tenant_schema must match"),
        ({"prediction_id": "42"}, "prediction_id must be a UUID"),
        ({"tenant_id": "acme"}, "tenant_id must be a UUID"),
    ],
    ids=["public-schema", "injection", "bad-prediction-id", "bad-tenant-id"],
)
def test_invalid_identifiers_are_rejected_before_any_write(
    worker: Worker,
    pg: psycopg.Connection[dict[str, Any]],
    tenant_schema: str,
    changes: dict[str, str],
    message: str,
) -> None:
    rows = [[5.1, 3.5, 1.4, 0.2]]
    prediction_id = insert_prediction(pg, tenant_schema, "iris", rows)
    kwargs = {**task_kwargs(tenant_schema, prediction_id, "iris", rows), **changes}
    result = worker.send(**kwargs)
    with pytest.raises(PredictionRequestError, match=message):
        worker.get(result)
    assert fetch_prediction(pg, tenant_schema, prediction_id)["status"] == "queued"


def test_hand_built_protocol_v2_message(
    worker: Worker, pg: psycopg.Connection[dict[str, Any]], tenant_schema: str
) -> None:
    """What a non-Python producer (the TypeScript worker) pushes: a Celery protocol v2 JSON
    message on the queue's Redis list, no positional args, the contract's kwargs."""
    rows = load_split("breast-cancer").x_test[:2].tolist()
    prediction_id = insert_prediction(pg, tenant_schema, "breast-cancer", rows)
    task_id = str(uuid.uuid4())
    worker.task_ids.append(task_id)
    kwargs = task_kwargs(tenant_schema, prediction_id, "breast-cancer", rows)
    body = [[], kwargs, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
    message = {
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "js",
            "task": TASK_PREDICT,
            "id": task_id,
            "root_id": task_id,
            "parent_id": None,
            "group": None,
            "retries": 0,
            "eta": None,
            "expires": None,
            "timelimit": [None, None],
            "argsrepr": "()",
            "kwargsrepr": json.dumps(kwargs)[:200],
            "origin": "ts-worker@test",
        },
        "properties": {
            "correlation_id": task_id,
            "reply_to": "",
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": worker.queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }
    connection = redis.Redis.from_url(redis_url())
    try:
        connection.lpush(worker.queue, json.dumps(message))
    finally:
        connection.close()

    output = worker.get(AsyncResult(task_id, app=worker.client))
    assert output["model"] == "breast-cancer"
    assert output["predictions"][0] in ("malignant", "benign")
    assert fetch_prediction(pg, tenant_schema, prediction_id)["status"] == "succeeded"
