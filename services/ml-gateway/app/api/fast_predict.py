"""`POST /v1/models/{name}/predict` answered in front of FastAPI when the request is well formed.

A single-instance prediction (what direct HTTP clients send most) spent more CPU in FastAPI's
routing, request parsing, dependency resolution and response encoding than in its share of a
batched model call. This ASGI layer answers such a request itself, with the same checks: the body
is validated by the same pydantic model (`PredictRequest`, parsed and validated in one pass by
pydantic-core), the model and the instances by the same registry and `validate_instances`, the
rows run through the same batchers, and the same metrics are counted (the HTTP ones by the
metrics middleware around it, under the route's template).

Anything else goes on to FastAPI with the body as it came, which answers as it always has: a body
that does not parse or validate (422 with FastAPI's errors), an unknown model (404), instances
the model refuses (422), another method, path or content type.
"""

from __future__ import annotations

import re

from pydantic import ValidationError
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import Settings
from app.core.metrics import Metrics
from app.ml.batching import Batchers
from app.ml.model import InvalidInputError
from app.ml.registry import ModelRegistry, UnknownModelError
from app.ml.schemas import PredictRequest, PredictResponse

#: The route it answers, as FastAPI declares it (`app/api/routes/models.py`).
PREDICT_ROUTE = "/v1/models/{name}/predict"
_PATH = re.compile(r"^/v1/models/([^/]+)/predict$")
_JSON_HEADERS = [(b"content-type", b"application/json")]


async def _never(_: Request) -> Response:  # pragma: no cover - the route is a label only
    raise RuntimeError("answered by FastPredict or FastAPI")


#: What the metrics middleware labels an answered request with (`scope["route"].path`).
_ROUTE = Route(PREDICT_ROUTE, endpoint=_never, methods=["POST"])


def _is_json(scope: Scope) -> bool:
    """Whether the request says its body is JSON (or says nothing, which FastAPI reads as JSON)."""
    for key, value in scope["headers"]:
        if key == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json"
    return True


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that gives the messages already read first, then reads on."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


class FastPredict:
    """ASGI middleware answering well-formed `POST /v1/models/{name}/predict` requests."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        match = _PATH.match(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                if await self._answer(scope, match.group(1), body, send):
                    return
                break
        await self.app(scope, _replay(messages, receive), send)

    async def _answer(self, scope: Scope, name: str, body: bytes, send: Send) -> bool:
        """Answers the request if it is well formed; False (nothing sent) to leave it to FastAPI."""
        state = self.state
        registry = getattr(state, "registry", None)
        if not isinstance(registry, ModelRegistry):
            return False
        try:
            model = registry.get(name)
            request = PredictRequest.model_validate_json(body)
            settings: Settings = state.settings
            x = model.validate_instances(
                request.instances, max_batch=settings.MAX_BATCH, check_values=False
            )
            batchers: Batchers = state.batchers
            result = await batchers.predict(model, x)
        except (UnknownModelError, ValidationError, InvalidInputError):
            return False
        metrics: Metrics = state.metrics
        metrics.prediction_requests.labels(model.name, "ok").inc()
        metrics.predictions.labels(model.name).inc(len(result.predictions))
        payload = (
            PredictResponse(
                model=model.name,
                version=model.version,
                predictions=result.predictions,
                probabilities=result.probabilities,
            )
            .model_dump_json()
            .encode()
        )
        scope["route"] = _ROUTE
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})
        return True
