"""The prediction lifecycle's database side, as the contract shared with the TypeScript worker
(packages/core's PredictionRunner) states it: resolve the tenant from `platform.tenants`, claim
the row in one statement, record the outcome only while the row is `running`.

Schema names never come from a message: only from a ready tenant's slug, then checked.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

#: A prediction is attempted at most this many times (the first run and 4 retries).
MAX_ATTEMPTS = 5
TENANT_SCHEMA_RE = re.compile(r"^tenant_[a-z][a-z0-9_]{1,38}[a-z0-9]$")

_TENANT = "select slug, status from platform.tenants where id = %s"
_CLAIM = sql.SQL(
    "update {schema}.predictions set status='running', attempts=attempts+1, updated_at=now()"
    " where id=%s and status in ('queued','running') returning id, model, input, attempts"
)
_FIND = sql.SQL(
    "select id, model, status, output, error, model_version, attempts"
    " from {schema}.predictions where id=%s"
)
_SUCCEEDED = sql.SQL(
    "update {schema}.predictions set status='succeeded', output=%s, model_version=%s,"
    " error=null, completed_at=now(), updated_at=now() where id=%s and status='running'"
)
_FAILED = sql.SQL(
    "update {schema}.predictions set status='failed', error=%s, completed_at=now(),"
    " updated_at=now() where id=%s and status='running'"
)
_QUEUED = sql.SQL(
    "update {schema}.predictions set status='queued', error=%s, updated_at=now()"
    " where id=%s and status='running'"
)


class TenantNotReadyError(LookupError):
    """No such tenant, or it is not `ready` (the task fails for good, nothing is written)."""


def schema_for_slug(slug: str) -> str:
    """'acme-corp' -> 'tenant_acme_corp' (packages/core's naming), or ValueError."""
    schema = "tenant_" + slug.replace("-", "_")
    if not TENANT_SCHEMA_RE.fullmatch(schema):
        raise ValueError(f"tenant slug {slug!r} gives no valid schema name")
    return schema


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    slug: str
    schema: str


@dataclass(frozen=True)
class ClaimedPrediction:
    id: uuid.UUID
    model: str
    input: Any
    attempts: int


class PredictionStore:
    """One connection (autocommit: every statement is its own transaction)."""

    def __init__(self, conn: psycopg.Connection[dict[str, Any]]) -> None:
        self._conn = conn

    @classmethod
    @contextmanager
    def connect(cls, database_url: str) -> Iterator[PredictionStore]:
        with psycopg.connect(
            database_url, autocommit=True, row_factory=dict_row, connect_timeout=10
        ) as conn:
            yield cls(conn)

    def ready_tenant(self, tenant_id: uuid.UUID) -> Tenant:
        row = self._conn.execute(_TENANT, (tenant_id,)).fetchone()
        if row is None or row["status"] != "ready":
            raise TenantNotReadyError(f"tenant {tenant_id} is not ready")
        try:
            schema = schema_for_slug(row["slug"])
        except ValueError as exc:
            raise TenantNotReadyError(f"tenant {tenant_id}: {exc}") from None
        return Tenant(tenant_id, row["slug"], schema)

    def _execute(
        self, query: sql.SQL, tenant: Tenant, params: tuple[Any, ...]
    ) -> psycopg.Cursor[dict[str, Any]]:
        return self._conn.execute(query.format(schema=sql.Identifier(tenant.schema)), params)

    def claim(self, tenant: Tenant, prediction_id: uuid.UUID) -> ClaimedPrediction | None:
        """queued/running -> running with the attempt counted; None when it is neither."""
        row = self._execute(_CLAIM, tenant, (prediction_id,)).fetchone()
        if row is None:
            return None
        return ClaimedPrediction(row["id"], row["model"], row["input"], row["attempts"])

    def find(self, tenant: Tenant, prediction_id: uuid.UUID) -> dict[str, Any] | None:
        return self._execute(_FIND, tenant, (prediction_id,)).fetchone()

    def record_succeeded(
        self, tenant: Tenant, prediction_id: uuid.UUID, output: dict[str, Any], version: str
    ) -> bool:
        cursor = self._execute(_SUCCEEDED, tenant, (Jsonb(output), version, prediction_id))
        return cursor.rowcount > 0

    def record_failed(self, tenant: Tenant, prediction_id: uuid.UUID, error: str) -> bool:
        return self._execute(_FAILED, tenant, (error, prediction_id)).rowcount > 0

    def record_queued(self, tenant: Tenant, prediction_id: uuid.UUID, error: str) -> bool:
        return self._execute(_QUEUED, tenant, (error, prediction_id)).rowcount > 0
