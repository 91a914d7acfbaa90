"""`ml.predict`, the Python consumer, end to end: a real Celery worker process, the real Redis
and PostgreSQL, and the lifecycle contract shared with the TypeScript worker (README.md).

Each run uses its own queue name, its own tenants in `platform.tenants` (the table is created
when the database has none, and dropped again) and their schemas, all removed at the end.
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
from app.worker.lifecycle import MAX_ATTEMPTS, schema_for_slug
from app.worker.tasks import PredictionRequestError
from tests.helpers import (
    SERVICE_DIR,
    categorical_digits_payload,
    database_url,
    make_settings,
    redis_url,
    wait_until,
)
from tests.worker.flaky import TRUSTED_TYPE, flaky_payload

pytestmark = pytest.mark.integration

RESULT_TIMEOUT = 60.0
WORKER_START_TIMEOUT = 120.0
WORKER_STOP_TIMEOUT = 30.0
ROW_TIMEOUT = 30.0

PREDICTIONS_TABLE = """
create table {schema}.predictions (
  id uuid primary key default gen_random_uuid(),
  model text not null, model_version text, input jsonb not null,
  status text not null check (status in ('queued','running','succeeded','failed')),
  output jsonb, error text, attempts integer not null default 0, task_id text,
  created_at timestamptz(3) not null default now(), updated_at timestamptz not null default now(),
  completed_at timestamptz)
"""
#: The columns of the platform's migration 0001 (packages/core), for a database without it.
TENANTS_TABLE = """
create table platform.tenants (
  id uuid primary key default gen_random_uuid(), slug text not null, name text not null,
  plan text not null, status text not null, schema_name text not null, namespace text not null,
  last_error text, provisioning_step text, lease_until timestamptz,
  created_at timestamptz(3) not null default now(), updated_at timestamptz not null default now())
"""


@dataclass(frozen=True)
class TenantFixture:
    id: str
    slug: str
    schema: str


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
def tenants_table(pg: psycopg.Connection[dict[str, Any]]) -> Iterator[None]:
    found = pg.execute(
        "select to_regnamespace('platform') is not null as schema,"
        " to_regclass('platform.tenants') is not null as tenants"
    ).fetchone()
    assert found is not None
    if not found["schema"]:
        pg.execute("create schema platform")
    if not found["tenants"]:
        pg.execute(TENANTS_TABLE)
    try:
        yield
    finally:
        if not found["schema"]:
            pg.execute("drop schema platform cascade")
        elif not found["tenants"]:
            pg.execute("drop table platform.tenants")


def _make_tenant(pg: psycopg.Connection[dict[str, Any]], status: str) -> TenantFixture:
    slug = f"mltest-{uuid.uuid4().hex[:12]}"
    schema = schema_for_slug(slug)
    row = pg.execute(
        "insert into platform.tenants (slug, name, plan, status, schema_name, namespace)"
        " values (%s, %s, 'free', %s, %s, %s) returning id",
        (slug, slug, status, schema, slug),
    ).fetchone()
    assert row is not None
    identifier = sql.Identifier(schema)
    pg.execute(sql.SQL("create schema {}").format(identifier))
    pg.execute(sql.SQL(PREDICTIONS_TABLE).format(schema=identifier))
    return TenantFixture(str(row["id"]), slug, schema)


def _drop_tenant(pg: psycopg.Connection[dict[str, Any]], tenant: TenantFixture) -> None:
    pg.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(tenant.schema)))
    pg.execute("delete from platform.tenants where id = %s", (tenant.id,))


@pytest.fixture(scope="module")
def tenant(pg: psycopg.Connection[dict[str, Any]], tenants_table: None) -> Iterator[TenantFixture]:
    """A ready tenant with a predictions table."""
    made = _make_tenant(pg, "ready")
    try:
        yield made
    finally:
        _drop_tenant(pg, made)


@pytest.fixture(scope="module")
def other_tenant(
    pg: psycopg.Connection[dict[str, Any]], tenants_table: None
) -> Iterator[TenantFixture]:
    made = _make_tenant(pg, "ready")
    try:
        yield made
    finally:
        _drop_tenant(pg, made)


@pytest.fixture(scope="module")
def provisioning_tenant(
    pg: psycopg.Connection[dict[str, Any]], tenants_table: None
) -> Iterator[TenantFixture]:
    """A tenant that is not ready yet, though its schema and table already exist."""
    made = _make_tenant(pg, "provisioning")
    try:
        yield made
    finally:
        _drop_tenant(pg, made)


@pytest.fixture(scope="module")
def trips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the flaky models' trip files live (a file there switches its model off)."""
    return tmp_path_factory.mktemp("trips")


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory, trips: Path) -> Iterator[Worker]:
    """A real `celery worker` process consuming a queue of its own."""
    queue = f"ml-test-{uuid.uuid4().hex[:12]}"
    nodename = f"{queue}@{socket.gethostname()}"
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    model_dir = tmp_path_factory.mktemp("models")
    sio.dump(categorical_digits_payload(), model_dir / "digits-nb.skops")
    for name in ("flaky-recovers", "flaky-always"):
        sio.dump(flaky_payload(trips / name), model_dir / f"{name}.skops")
    env = {
        **os.environ,
        "REDIS_URL": redis_url(),
        "DATABASE_URL": database_url(),
        "CELERY_QUEUE": queue,
        "MODEL_DIR": str(model_dir),
        "MODEL_TRUSTED_TYPES": TRUSTED_TYPE,
        "PYTHONPATH": str(SERVICE_DIR),  # the flaky models' class lives in tests/
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
    pg: psycopg.Connection[dict[str, Any]], tenant: TenantFixture, model: str, inputs: Any
) -> str:
    row = pg.execute(
        sql.SQL(
            "insert into {}.predictions (model, input, status) values (%s, %s, 'queued') "
            "returning id"
        ).format(sql.Identifier(tenant.schema)),
        (model, Jsonb(inputs)),
    ).fetchone()
    assert row is not None
    return str(row["id"])


def fetch_prediction(
    pg: psycopg.Connection[dict[str, Any]], tenant: TenantFixture, prediction_id: str
) -> dict[str, Any]:
    row = pg.execute(
        sql.SQL("select * from {}.predictions where id = %s").format(sql.Identifier(tenant.schema)),
        (prediction_id,),
    ).fetchone()
    assert row is not None
    return row


def kwargs_for(tenant: TenantFixture, prediction_id: str) -> dict[str, Any]:
    return {"tenant_id": tenant.id, "prediction_id": prediction_id}


def test_predict_succeeds_and_records_the_output(
    worker: Worker,
    pg: psycopg.Connection[dict[str, Any]],
    tenant: TenantFixture,
    registry: ModelRegistry,
) -> None:
    rows = load_split("iris").x_test[:7].tolist()
    prediction_id = insert_prediction(pg, tenant, "iris", rows)

    result = worker.send(**kwargs_for(tenant, prediction_id))
    output = worker.get(result)

    model = registry.get("iris")
    assert model.classes is not None
    expected = [model.classes[int(i)] for i in model.estimator.predict(np.array(rows))]
    assert output["prediction_id"] == prediction_id
    assert (output["model"], output["version"], output["status"]) == (
        "iris",
        model.version,
        "succeeded",
    )
    assert output["predictions"] == expected
    np.testing.assert_allclose(np.sum(output["probabilities"], axis=1), 1.0, atol=1e-9)
    assert result.state == "SUCCESS"

    row = fetch_prediction(pg, tenant, prediction_id)
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
    tenant: TenantFixture,
    registry: ModelRegistry,
) -> None:
    rows = load_split("diabetes").x_test[:3].tolist()
    prediction_id = insert_prediction(pg, tenant, "diabetes", rows)
    output = worker.get(worker.send(**kwargs_for(tenant, prediction_id)))
    expected = registry.get("diabetes").estimator.predict(np.array(rows))
    np.testing.assert_allclose(output["predictions"], expected, rtol=1e-12)
    assert output["probabilities"] is None
    row = fetch_prediction(pg, tenant, prediction_id)
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
def test_input_the_model_rejects_fails_the_task_and_the_row_at_once(
    worker: Worker,
    pg: psycopg.Connection[dict[str, Any]],
    tenant: TenantFixture,
    model: str,
    inputs: Any,
    message: str,
) -> None:
    prediction_id = insert_prediction(pg, tenant, model, inputs)
    result = worker.send(**kwargs_for(tenant, prediction_id))
    with pytest.raises(PredictionRequestError) as caught:
        worker.get(result)
    assert message in str(caught.value)
    assert result.state == "FAILURE"

    row = fetch_prediction(pg, tenant, prediction_id)
    assert row["status"] == "failed"
    assert message in row["error"]
    assert row["output"] is None
    assert row["attempts"] == 1  # no retry
    assert row["completed_at"] is not None


def test_model_dir_models_are_served_by_the_worker(
    worker: Worker, pg: psycopg.Connection[dict[str, Any]], tenant: TenantFixture
) -> None:
    payload = categorical_digits_payload()
    rows = load_split("digits").x_test[:4].tolist()
    prediction_id = insert_prediction(pg, tenant, "digits-nb", rows)
    output = worker.get(worker.send(**kwargs_for(tenant, prediction_id)))
    expected = payload["estimator"].predict(np.array(rows, dtype=int)).tolist()
    assert (output["version"], output["predictions"]) == ("nb-1", expected)
    row = fetch_prediction(pg, tenant, prediction_id)
    assert (row["status"], row["model_version"]) == ("succeeded", "nb-1")


def test_redelivery_of_a_succeeded_prediction_writes_nothing(
    worker: Worker, pg: psycopg.Connection[dict[str, Any]], tenant: TenantFixture
) -> None:
    rows = [[5.9, 3.0, 5.1, 1.8]]
    prediction_id = insert_prediction(pg, tenant, "iris", rows)
    first = worker.get(worker.send(**kwargs_for(tenant, prediction_id)))
    before = fetch_prediction(pg, tenant, prediction_id)

    second = worker.get(worker.send(**kwargs_for(tenant, prediction_id)))  # a redelivery
    after = fetch_prediction(pg, tenant, prediction_id)

    assert second == first
    assert after == before  # updated_at and attempts included
    assert after["attempts"] == 1


def test_redelivery_of_a_failed_prediction_writes_nothing(
    worker: Worker, pg: psycopg.Connection[dict[str, Any]], tenant: TenantFixture
) -> None:
    prediction_id = insert_prediction(pg, tenant, "iris", [[1.0]])
    with pytest.raises(PredictionRequestError, match="has 1 features"):
        worker.get(worker.send(**kwargs_for(tenant, prediction_id)))
    before = fetch_prediction(pg, tenant, prediction_id)

    again = worker.send(**kwargs_for(tenant, prediction_id))
    with pytest.raises(PredictionRequestError, match="has 1 features"):
        worker.get(again)
    assert again.state == "FAILURE"
    assert fetch_prediction(pg, tenant, prediction_id) == before


def test_a_forged_message_for_an_unknown_tenant_writes_nothing(
    worker: Worker, pg: psycopg.Connection[dict[str, Any]], tenant: TenantFixture
) -> None:
    prediction_id = insert_prediction(pg, tenant, "iris", [[5.1, 3.5, 1.4, 0.2]])
    before = fetch_prediction(pg, tenant, prediction_id)
    unknown = str(uuid.uuid4())
    result = worker.send(tenant_id=unknown, prediction_id=prediction_id)
    with pytest.raises(PredictionRequestError, match=f"tenant {unknown} is not ready"):
        worker.get(result)
    assert result.state == "FAILURE"
    assert fetch_prediction(pg, tenant, prediction_id) == before


def test_a_message_for_a_tenant_that_is_not_ready_writes_nothing(
    worker: Worker, pg: psycopg.Connection[dict[str, Any]], provisioning_tenant: TenantFixture
) -> None:
    prediction_id = insert_prediction(pg, provisioning_tenant, "iris", [[5.1, 3.5, 1.4, 0.2]])
    before = fetch_prediction(pg, provisioning_tenant, prediction_id)
    result = worker.send(**kwargs_for(provisioning_tenant, prediction_id))
    with pytest.raises(PredictionRequestError, match="is not ready"):
        worker.get(result)
    assert fetch_prediction(pg, provisioning_tenant, prediction_id) == before


def test_another_tenants_prediction_id_is_not_found_and_not_touched(
    worker: Worker,
    pg: psycopg.Connection[dict[str, Any]],
    tenant: TenantFixture,
    other_tenant: TenantFixture,
) -> None:
    """A message pairing tenant A with tenant B's prediction looks only in A's schema."""
    theirs = insert_prediction(pg, other_tenant, "iris", [[5.1, 3.5, 1.4, 0.2]])
    before = fetch_prediction(pg, other_tenant, theirs)
    result = worker.send(tenant_id=tenant.id, prediction_id=theirs)
    with pytest.raises(PredictionRequestError, match=f"prediction {theirs} does not exist"):
        worker.get(result)
    assert fetch_prediction(pg, other_tenant, theirs) == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"tenant_schema": "tenant_someone_else", "model": "iris", "inputs": [[0, 0, 0, 0]]},
            "takes only the keyword arguments tenant_id and prediction_id; got inputs, model, "
            "tenant_schema",
        ),
        ({"prediction_id": "42"}, "prediction_id must be a UUID"),
        ({"tenant_id": "acme"}, "tenant_id must be a UUID"),
    ],
    ids=["old-style-kwargs", "bad-prediction-id", "bad-tenant-id"],
)
def test_messages_with_other_arguments_are_refused_before_any_write(
    worker: Worker,
    pg: psycopg.Connection[dict[str, Any]],
    tenant: TenantFixture,
    extra: dict[str, Any],
    message: str,
) -> None:
    prediction_id = insert_prediction(pg, tenant, "iris", [[5.1, 3.5, 1.4, 0.2]])
    before = fetch_prediction(pg, tenant, prediction_id)
    result = worker.send(**{**kwargs_for(tenant, prediction_id), **extra})
    with pytest.raises(PredictionRequestError, match=message):
        worker.get(result)
    assert fetch_prediction(pg, tenant, prediction_id) == before


def test_a_transient_failure_is_requeued_counted_and_retried(
    worker: Worker, pg: psycopg.Connection[dict[str, Any]], tenant: TenantFixture, trips: Path
) -> None:
    """The model cannot run (its trip file exists): the row goes back to `queued` with the error
    and the attempt counted, and the task is retried; once the model runs again, it succeeds."""
    trip = trips / "flaky-recovers"
    trip.touch()
    try:
        prediction_id = insert_prediction(pg, tenant, "flaky-recovers", [[1.0, 2.0]])
        result = worker.send(**kwargs_for(tenant, prediction_id))

        def requeued() -> dict[str, Any] | None:
            row = fetch_prediction(pg, tenant, prediction_id)
            return row if row["status"] == "queued" and row["attempts"] >= 1 else None

        row = wait_until(requeued, timeout=ROW_TIMEOUT, what="the row back in queued")
        assert row["error"] == "OSError: model backend unavailable (flaky-recovers)"
        assert row["completed_at"] is None
    finally:
        trip.unlink()

    output = worker.get(result)
    assert output["predictions"] == [0.0]
    assert result.state == "SUCCESS"
    row = fetch_prediction(pg, tenant, prediction_id)
    assert row["status"] == "succeeded"
    assert row["error"] is None
    assert 2 <= row["attempts"] <= MAX_ATTEMPTS


def test_the_fifth_failed_attempt_gives_up(
    worker: Worker, pg: psycopg.Connection[dict[str, Any]], tenant: TenantFixture, trips: Path
) -> None:
    trip = trips / "flaky-always"
    trip.touch()
    try:
        prediction_id = insert_prediction(pg, tenant, "flaky-always", [[1.0, 2.0]])
        result = worker.send(**kwargs_for(tenant, prediction_id))
        with pytest.raises(PredictionRequestError) as caught:
            worker.get(result)
    finally:
        trip.unlink()
    expected = "gave up after 5 attempts: OSError: model backend unavailable (flaky-always)"
    assert str(caught.value) == expected
    assert result.state == "FAILURE"
    row = fetch_prediction(pg, tenant, prediction_id)
    assert (row["status"], row["attempts"], row["error"]) == ("failed", 5, expected)
    assert row["completed_at"] is not None


def test_hand_built_protocol_v2_message(
    worker: Worker, pg: psycopg.Connection[dict[str, Any]], tenant: TenantFixture
) -> None:
    """What a non-Python producer (the TypeScript outbox relay) pushes: a Celery protocol v2
    JSON message on the queue's Redis list, no positional args, the two ids as kwargs."""
    rows = load_split("breast-cancer").x_test[:2].tolist()
    prediction_id = insert_prediction(pg, tenant, "breast-cancer", rows)
    task_id = str(uuid.uuid4())
    worker.task_ids.append(task_id)
    kwargs = kwargs_for(tenant, prediction_id)
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
    assert fetch_prediction(pg, tenant, prediction_id)["status"] == "succeeded"
