"""`POST /v1/models/{name}/predict` answered in front of the app when the request is well formed.

A single-instance prediction (what direct HTTP clients send most) spent more CPU in Starlette's
middleware stack, FastAPI's routing, request parsing, dependency resolution and response
encoding than in its share of a batched model call. `FastPredict` sits in front of all of it (the
ASGI callable uvicorn calls, see `GatewayApp`) and answers such a request itself: the body is
parsed by pydantic-core's JSON parser (the one `PredictRequest` validation uses) and checked
without building the request model, the rows go through the same batchers, the same metrics are
counted, and the answer is the route's byte for byte (`tests/api/test_fast_predict.py` compares
both, good and bad inputs alike).

It answers only what it is sure the route would answer with 200: a JSON object whose only key
is `instances`, 1 to `MAX_BATCH` rows, each a list of exactly the model's feature count of JSON
numbers that are finite floats or integers of at most 2**53 in magnitude. Anything else goes on
to FastAPI with the body as it came, which answers as it always has: a body that does not parse
or validate (422 with FastAPI's errors), an unknown model (404), instances the model refuses
(422), another method, path or content type, a server fault (500).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Awaitable, Callable

import numpy as np
from prometheus_client import Counter
from pydantic_core import from_json, to_json
from starlette.datastructures import State
from starlette.types import Message, Receive, Scope, Send

from app.core.config import Settings
from app.core.metrics import Metrics
from app.ml.batching import Batchers
from app.ml.model import LoadedModel
from app.ml.registry import ModelRegistry, UnknownModelError

#: The route it answers, as FastAPI declares it (`app/api/routes/models.py`).
PREDICT_ROUTE = "/v1/models/{name}/predict"
_PATH = re.compile(r"^/v1/models/([^/]+)/predict$")
_JSON = b"application/json"
#: Largest integer magnitude answered here (exactly representable as a float).
_MAX_INT = 2**53
_isfinite = math.isfinite

ASGICallable = Callable[[Scope, Receive, Send], Awaitable[None]]


def _is_json(scope: Scope) -> bool:
    """Whether the request says its body is JSON (or says nothing, which FastAPI reads as JSON)."""
    for key, value in scope["headers"]:
        if key == b"content-type":
            if value == _JSON:
                return True
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == _JSON
    return True


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that gives the messages already read first, then reads on."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _plain_row(row: object, n_features: int) -> bool:
    """Whether `row` is a list of `n_features` finite floats or integers of at most 2**53."""
    if type(row) is not list or len(row) != n_features:
        return False
    for value in row:
        kind = type(value)
        if kind is float:
            if not _isfinite(value):
                return False
        elif kind is not int or not -_MAX_INT <= value <= _MAX_INT:
            return False
    return True


def well_formed_instances(body: bytes, n_features: int, max_batch: int) -> list[list[float]] | None:
    """The body's instances when the route would accept them as they are, else None.

    Stricter than `PredictRequest` plus `LoadedModel.validate_instances`, never looser: every
    body this accepts, they accept with the same rows; a body this refuses goes to the route.
    """
    try:
        data = from_json(body)
    except ValueError:
        return None
    if type(data) is not dict or len(data) != 1:
        return None
    instances = data.get("instances")
    if type(instances) is not list or not 0 < len(instances) <= max_batch:
        return None
    if not all(_plain_row(row, n_features) for row in instances):
        return None
    return instances


class _ModelCounters:
    __slots__ = ("ok", "predictions")

    def __init__(self, metrics: Metrics, model: str) -> None:
        self.ok: Counter = metrics.prediction_requests.labels(model, "ok")
        self.predictions: Counter = metrics.predictions.labels(model)


class FastPredict:
    """Answers well-formed `POST /v1/models/{name}/predict` requests; hands the rest to `app`."""

    def __init__(self, app: ASGICallable, state: State, metrics: Metrics) -> None:
        self.app = app
        self.state = state
        self.metrics = metrics
        # Labelled children looked up once (`labels()` costs a lock and a dict lookup per call).
        self._http_ok = metrics.http_requests.labels("POST", PREDICT_ROUTE, "200")
        self._http_latency = metrics.http_latency.labels("POST", PREDICT_ROUTE)
        self._models: dict[str, _ModelCounters] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        match = _PATH.match(scope["path"])
        if match is None or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                if await self._answer(match.group(1), body, send, started):
                    return
                break
        await self.app(scope, _replay(messages, receive), send)

    async def _answer(self, name: str, body: bytes, send: Send, started: float) -> bool:
        """Answers the request if it is well formed; False (nothing sent) to leave it to FastAPI."""
        state = self.state
        registry = getattr(state, "registry", None)
        if not isinstance(registry, ModelRegistry):
            return False
        try:
            model: LoadedModel = registry.get(name)
        except UnknownModelError:
            return False
        settings: Settings = state.settings
        instances = well_formed_instances(body, model.n_features, settings.MAX_BATCH)
        if instances is None:
            return False
        batchers: Batchers = state.batchers
        try:
            result = await batchers.predict(model, np.array(instances, dtype=np.float64))
        except Exception:  # bad values for the estimator, or a fault: the route answers it
            return False
        payload = to_json(
            {
                "model": model.name,
                "version": model.version,
                "predictions": result.predictions,
                "probabilities": result.probabilities,
            }
        )
        counters = self._models.get(model.name)
        if counters is None:
            counters = self._models[model.name] = _ModelCounters(self.metrics, model.name)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(payload)).encode()),
                    (b"content-type", _JSON),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
        counters.ok.inc()
        counters.predictions.inc(len(result.predictions))
        self._http_ok.inc()
        self._http_latency.observe(time.perf_counter() - started)
        return True
