"""FastPredict answers exactly what the FastAPI route answers, for good and bad inputs alike.

Each body goes to two apps built from the same settings and registry: one with `FastPredict` in
front (the default), one without (`fast_predict=False`: every request through FastAPI's route).
Status, content type and body must be identical; and the fast path must have answered the good
ones itself (it hands a request on to the full stack only when it leaves it to the route).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.fast_predict import well_formed_instances
from app.main import GatewayApp, create_app
from app.ml.builtin import load_split
from app.ml.model import LoadedModel
from app.ml.registry import ModelRegistry
from tests.helpers import categorical_digits_payload, make_settings

IRIS_ROW = [5.1, 3.5, 1.4, 0.2]
JSON = "application/json"


def held_out(name: str, count: int) -> str:
    return json.dumps({"instances": load_split(name).x_test[:count].tolist()})


def iris_with(first: str) -> str:
    """An iris body whose first value is the JSON text `first`."""
    return '{"instances": [[' + first + ", 3.5, 1.4, 0.2]]}"


GOOD_BODIES: list[tuple[str, str, str]] = [
    ("one instance", "iris", json.dumps({"instances": [IRIS_ROW]})),
    ("several instances", "iris", held_out("iris", 7)),
    ("integers", "iris", '{"instances": [[5, 3, 1, 0]]}'),
    ("integer 2**53", "iris", iris_with("9007199254740992")),
    ("whitespace", "iris", '  {\n "instances" : [ [5.1,3.5 , 1.4, 0.2] ] }\n'),
    ("exponents", "iris", '{"instances": [[5.1e0, 35E-1, 1.4, 2e-1]]}'),
    ("regressor", "diabetes", held_out("diabetes", 3)),
    ("integer labels", "digits", held_out("digits", 2)),
    ("full MAX_BATCH", "iris", json.dumps({"instances": [IRIS_ROW] * 1000})),
]

BAD_BODIES: list[tuple[str, str, str | bytes, str]] = [
    ("unknown model", "nope", json.dumps({"instances": [IRIS_ROW]}), JSON),
    ("too few features", "iris", '{"instances": [[5.1, 3.5, 1.4]]}', JSON),
    ("too many features", "iris", '{"instances": [[5.1, 3.5, 1.4, 0.2, 1]]}', JSON),
    ("string", "iris", iris_with('"5.1"'), JSON),
    ("boolean", "iris", iris_with("true"), JSON),
    ("null", "iris", iris_with("null"), JSON),
    ("NaN", "iris", iris_with("NaN"), JSON),
    ("Infinity", "iris", iris_with("-Infinity"), JSON),
    ("overflowing float", "iris", iris_with("1e400"), JSON),
    ("huge integer", "iris", iris_with("9" * 400), JSON),
    ("beyond digit limit", "iris", iris_with("9" * 5000), JSON),
    ("row not a list", "iris", '{"instances": [5.1]}', JSON),
    ("row an object", "iris", '{"instances": [{"a": 1}]}', JSON),
    ("empty instances", "iris", '{"instances": []}', JSON),
    ("instances not a list", "iris", '{"instances": "x"}', JSON),
    ("extra field", "iris", '{"instances": [[5.1, 3.5, 1.4, 0.2]], "x": 1}', JSON),
    ("no instances", "iris", '{"rows": [[5.1, 3.5, 1.4, 0.2]]}', JSON),
    ("array body", "iris", "[[5.1, 3.5, 1.4, 0.2]]", JSON),
    ("invalid JSON", "iris", '{"instances": [[5.1, 3.5', JSON),
    ("trailing data", "iris", '{"instances": [[5.1, 3.5, 1.4, 0.2]]} x', JSON),
    ("not UTF-8", "iris", b"\xff\xfe\x00", JSON),
    ("empty body", "iris", "", JSON),
    ("text/plain", "iris", json.dumps({"instances": [IRIS_ROW]}), "text/plain"),
    ("over MAX_BATCH", "iris", json.dumps({"instances": [IRIS_ROW] * 1001}), JSON),
    ("estimator rejects", "digits-nb", json.dumps({"instances": [[-1.0] * 64]}), JSON),
]

Clients = tuple[TestClient, TestClient, "Fallbacks"]


class Fallbacks:
    """Counts the requests FastPredict handed on to the full stack."""

    def __init__(self, app: GatewayApp) -> None:
        assert app.fast_predict is not None
        self.count = 0
        inner = app.fast_predict.app

        async def counted(scope: Any, receive: Any, send: Any) -> None:
            self.count += 1
            await inner(scope, receive, send)

        app.fast_predict.app = counted


@pytest.fixture(scope="module")
def registry_with_nb(registry: ModelRegistry) -> ModelRegistry:
    nb = LoadedModel.create(name="digits-nb", source="file", **categorical_digits_payload())
    return ModelRegistry([*registry, nb])


@pytest.fixture
def clients(registry_with_nb: ModelRegistry) -> Iterator[Clients]:
    settings = make_settings()
    fast_app = create_app(settings, registry_with_nb)
    fallbacks = Fallbacks(fast_app)
    with (
        TestClient(fast_app) as fast,
        TestClient(create_app(settings, registry_with_nb, fast_predict=False)) as route,
    ):
        yield fast, route, fallbacks


def post(client: TestClient, model: str, body: str | bytes, content_type: str) -> Any:
    return client.post(
        f"/v1/models/{model}/predict", content=body, headers={"content-type": content_type}
    )


@pytest.mark.parametrize(
    ("model", "body"), [pytest.param(m, b, id=case) for case, m, b in GOOD_BODIES]
)
def test_good_bodies_are_answered_by_the_fast_path_as_the_route_does(
    clients: Clients, model: str, body: str
) -> None:
    fast, route, fallbacks = clients
    answer = post(fast, model, body, JSON)
    expected = post(route, model, body, JSON)
    assert expected.status_code == 200, expected.text
    assert fallbacks.count == 0
    assert answer.status_code == 200
    assert answer.headers["content-type"] == expected.headers["content-type"]
    assert answer.content == expected.content


@pytest.mark.parametrize(
    ("model", "body", "content_type"),
    [pytest.param(m, b, c, id=case) for case, m, b, c in BAD_BODIES],
)
def test_bad_bodies_get_the_routes_answer(
    clients: Clients,
    model: str,
    body: str | bytes,
    content_type: str,
) -> None:
    fast, route, fallbacks = clients
    answer = post(fast, model, body, content_type)
    expected = post(route, model, body, content_type)
    assert 400 <= expected.status_code < 500, expected.text
    assert fallbacks.count == 1
    assert answer.status_code == expected.status_code
    assert answer.headers["content-type"] == expected.headers["content-type"]
    assert answer.content == expected.content


def test_integers_past_2_to_the_53_are_left_to_the_route(clients: Clients) -> None:
    """Taken by the route (as floats), not answered by the fast path: the same 200 answer."""
    fast, route, fallbacks = clients
    body = iris_with("9007199254740993")
    answer = post(fast, "iris", body, JSON)
    expected = post(route, "iris", body, JSON)
    assert expected.status_code == 200
    assert fallbacks.count == 1
    assert answer.content == expected.content


def test_the_check_accepts_only_what_the_route_takes_as_is() -> None:
    assert well_formed_instances(b'{"instances": [[1, 2.5]]}', 2, 10) == [[1, 2.5]]
    assert well_formed_instances(b'{"instances": [[1, 2.5]]}', 3, 10) is None
    assert well_formed_instances(b'{"instances": [[1, 2]], "instances2": 1}', 2, 10) is None
    assert well_formed_instances(b'{"instances": [[1, 2], [3, 4]]}', 2, 1) is None
    assert well_formed_instances(b'{"instances": [[false, 2]]}', 2, 10) is None


def test_fast_path_counts_the_same_metrics(
    clients: Clients,
) -> None:
    fast, route, _ = clients
    body = json.dumps({"instances": [IRIS_ROW, IRIS_ROW]})
    for client in (fast, route):
        for _ in range(3):
            assert post(client, "iris", body, JSON).status_code == 200

    def lines(client: TestClient) -> list[str]:
        wanted = (
            'ml_gateway_http_requests_total{method="POST",route="/v1/models/{name}/predict",status="200"}',
            'ml_gateway_http_request_duration_seconds_count{method="POST",route="/v1/models/{name}/predict"}',
            'ml_gateway_predictions_total{model="iris"}',
            'ml_gateway_prediction_requests_total{model="iris",outcome="ok"}',
            'ml_gateway_model_calls_total{model="iris"}',
            'ml_gateway_batch_instances_count{model="iris"}',
        )
        text = fast.get("/metrics").text if client is fast else route.get("/metrics").text
        return [line for line in text.splitlines() if line.startswith(wanted)]

    assert lines(fast) == lines(route)
    assert len(lines(fast)) == 6
