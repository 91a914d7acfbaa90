"""Schemathesis hooks of the API contract gate (test/contract.test.ts).

What the spec states, schemathesis generates from it. Two rules of the API depend on the server's
state and clock, which JSON Schema cannot state; for valid (positive) cases only, these hooks
move generated values into what the running API accepts, so that "schema-valid is accepted" is
checked on everything else:

- an event's `occurred_at` must be within the plan's retention and at most 24 hours ahead
  (CONTRACT_RETENTION_DAYS);
- a prediction's `model` must be in the live catalog and every instance must have that model's
  feature count (CONTRACT_MODELS: a JSON object of model name -> feature count);
- an `Idempotency-Key` names one request: a client sends a new key with each new request (the
  same key with another body is refused, 422 `idempotency_key_reused`), so valid cases get a key
  of their own;
- a `date-time` query parameter is read by tsoa's validator (validator.js, strict ISO 8601), which
  refuses the years 0000-0099 (`0022-12-16T01:52:29+23:47`): valid cases move such a year by 2000
  years, in UTC. A known limit of the server, stated in docs/api.md.

Invalid (negative) cases are left as generated. The hook runs before each call, in every phase.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import schemathesis
from schemathesis.generation import GenerationMode

RETENTION_DAYS = int(os.environ.get("CONTRACT_RETENTION_DAYS", "7"))
MODELS: dict[str, int] = json.loads(os.environ.get("CONTRACT_MODELS", "{}"))


def _positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode == GenerationMode.POSITIVE


def _within_retention(value: str) -> str:
    """The same instant of day, moved into the last RETENTION_DAYS - 1 days."""
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    now = datetime.now(timezone.utc)
    offset = (at.toordinal() * 86_400 + at.hour * 3600 + at.minute * 60 + at.second) % (
        (RETENTION_DAYS - 1) * 86_400
    )
    return (now - timedelta(seconds=offset + 60)).isoformat().replace("+00:00", "Z")


def _readable_instant(value: str) -> str:
    """A date-time of the years 0000-0099 moved by 2000 years, in UTC; other values unchanged."""
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if at.tzinfo is None or at.year >= 100:
        return value
    # Moved first, then written in UTC (an offset could take year 1 before year 1).
    return at.replace(year=at.year + 2000).astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    operation = context.operation
    if operation is None or not _positive(case):
        return
    query = case.query or {}
    for name in ("from", "to"):
        if isinstance(query.get(name), str):
            query[name] = _readable_instant(query[name])
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key":
            headers[name] = f"contract-{uuid.uuid4()}"
    if not isinstance(case.body, dict):
        return
    label = f"{operation.method.upper()} {operation.path}"
    body = case.body
    if label == "POST /v1/events" and isinstance(body.get("events"), list):
        for event in body["events"]:
            if isinstance(event, dict) and isinstance(event.get("occurred_at"), str):
                event["occurred_at"] = _within_retention(event["occurred_at"])
        case.body = body
    elif label == "POST /v1/predictions" and MODELS and isinstance(body.get("inputs"), list):
        names = sorted(MODELS)
        model = body.get("model") if body.get("model") in MODELS else names[len(str(body.get("model"))) % len(names)]
        width = MODELS[model]
        rows = []
        for row in body["inputs"]:
            numbers = [v for v in row if isinstance(v, (int, float))] if isinstance(row, list) else []
            rows.append([*numbers, *([0.5] * width)][:width])
        body["model"] = model
        body["inputs"] = rows
        case.body = body
