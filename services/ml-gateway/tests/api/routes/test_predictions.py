"""POST /v1/predictions/batch, and concurrent single requests batched by the server."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.ml.builtin import load_split
from app.ml.model import LoadedModel
from app.ml.registry import ModelRegistry
from tests.helpers import categorical_digits_payload

IRIS_ROW = [5.1, 3.5, 1.4, 0.2]
#: A batch that must gather N requests closes on its size (N), never on this delay (which
#: also bounds how long a broken batcher could hold a test).
FOREVER_MS = 60_000.0


def metric(client: TestClient, name: str, model: str) -> float:
    text = client.get("/metrics").text
    match = re.search(rf'^{re.escape(name)}{{model="{re.escape(model)}"}} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


@pytest.fixture
def registry_with_nb(registry: ModelRegistry) -> ModelRegistry:
    nb = LoadedModel.create(name="digits-nb", source="file", **categorical_digits_payload())
    return ModelRegistry([*registry.models(), nb])


def test_items_get_their_own_results_and_errors(
    make_client: Callable[..., TestClient], registry_with_nb: ModelRegistry
) -> None:
    client = make_client(registry_override=registry_with_nb)
    iris_rows = load_split("iris").x_test[:3].tolist()
    digits_row = load_split("digits").x_test[0].tolist()
    items: list[dict[str, Any]] = [
        {"model": "iris", "instances": iris_rows},
        {"model": "nope", "instances": [IRIS_ROW]},
        {"model": "iris", "instances": [IRIS_ROW, [1.0, 2.0, 3.0]]},
        {"model": "iris", "instances": [[1.0, "2", 3.0, 4.0]]},
        {"model": "digits-nb", "instances": [[-1.0] * 64]},
        {"model": "digits-nb", "instances": [digits_row]},
        {"model": "diabetes", "instances": load_split("diabetes").x_test[:2].tolist()},
        {"model": "iris", "instances": []},
    ]

    response = client.post("/v1/predictions/batch", json={"items": items})

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(items)
    ok, unknown, count, string, rejected, nb_ok, regressor, empty = results

    single = client.post("/v1/models/iris/predict", json={"instances": iris_rows}).json()
    assert ok["ok"] is True
    assert ok["error"] is None
    assert (ok["model"], ok["version"]) == ("iris", single["version"])
    assert ok["predictions"] == single["predictions"]
    np.testing.assert_allclose(ok["probabilities"], single["probabilities"])

    assert unknown["ok"] is False
    assert unknown["predictions"] is None
    assert unknown["error"]["status"] == 404
    assert unknown["error"]["code"] == "unknown_model"
    assert unknown["error"]["message"].startswith("unknown model 'nope' (available: ")

    assert count["error"]["status"] == 422
    assert count["error"]["code"] == "invalid_input"
    assert count["error"]["message"] == "instance 1 has 3 features; model iris expects 4"
    assert count["error"]["errors"] == [
        {
            "loc": [1],
            "msg": "instance 1 has 3 features; model iris expects 4",
            "type": "feature_count",
        }
    ]
    assert string["error"]["errors"][0]["loc"] == [0, 1]
    assert "is not a number" in string["error"]["message"]
    assert rejected["error"]["code"] == "invalid_input"
    assert "Negative values" in rejected["error"]["message"]
    assert nb_ok["ok"] is True
    assert len(nb_ok["predictions"]) == 1
    assert regressor["ok"] is True
    assert regressor["probabilities"] is None
    assert len(regressor["predictions"]) == 2
    assert empty["error"]["message"] == "instances must contain at least 1 instance"


def test_items_for_one_model_share_a_model_call(make_client: Callable[..., TestClient]) -> None:
    client = make_client(BATCH_MAX_SIZE=6, BATCH_MAX_DELAY_MS=FOREVER_MS)
    x = load_split("iris").x_test[:6].tolist()
    calls_before = metric(client, "ml_gateway_model_calls_total", "iris")

    response = client.post(
        "/v1/predictions/batch", json={"items": [{"model": "iris", "instances": [r]} for r in x]}
    )

    assert response.status_code == 200, response.text
    assert metric(client, "ml_gateway_model_calls_total", "iris") - calls_before == 1
    together = client.post("/v1/models/iris/predict", json={"instances": x}).json()
    assert [r["predictions"][0] for r in response.json()["results"]] == together["predictions"]


def test_concurrent_single_requests_are_batched(make_client: Callable[..., TestClient]) -> None:
    """8 clients at once, one instance each: one model call answers all 8 correctly (fixed
    delay: the batch waits for all 8; adaptive batching is tested in tests/ml/test_batching.py)."""
    client = make_client(BATCH_ADAPTIVE=False, BATCH_MAX_SIZE=8, BATCH_MAX_DELAY_MS=FOREVER_MS)
    x = load_split("iris").x_test[:8].tolist()
    expected = client.post("/v1/models/iris/predict", json={"instances": x}).json()  # 8 rows
    calls_before = metric(client, "ml_gateway_model_calls_total", "iris")

    def one(row: list[float]) -> Any:
        response = client.post("/v1/models/iris/predict", json={"instances": [row]})
        assert response.status_code == 200, response.text
        return response.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(one, x))

    assert metric(client, "ml_gateway_model_calls_total", "iris") - calls_before == 1
    assert [a["predictions"][0] for a in answers] == expected["predictions"]
    for answer, probabilities in zip(answers, expected["probabilities"], strict=True):
        np.testing.assert_allclose(answer["probabilities"][0], probabilities)


def test_without_batching_every_request_is_its_own_call(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(BATCHING_ENABLED=False)
    calls_before = metric(client, "ml_gateway_model_calls_total", "iris")
    for _ in range(3):
        assert client.post("/v1/models/iris/predict", json={"instances": [IRIS_ROW]}).is_success
    assert metric(client, "ml_gateway_model_calls_total", "iris") - calls_before == 3


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"items": []}, "at least 1 item"),
        ({}, "Field required"),
        ({"items": [{"model": "iris", "instances": [IRIS_ROW], "extra": 1}]}, "Extra inputs"),
        ({"items": [{"instances": [IRIS_ROW]}]}, "Field required"),
        ({"items": "iris"}, "valid list"),
    ],
    ids=["empty", "no-items", "unknown-field", "no-model", "not-a-list"],
)
def test_a_malformed_envelope_is_422(client: TestClient, body: Any, fragment: str) -> None:
    response = client.post("/v1/predictions/batch", json=body)
    assert response.status_code == 422
    assert fragment in response.text


def test_max_batch_items_comes_from_settings(make_client: Callable[..., TestClient]) -> None:
    client = make_client(MAX_BATCH_ITEMS=2)
    item = {"model": "iris", "instances": [IRIS_ROW]}
    response = client.post("/v1/predictions/batch", json={"items": [item] * 3})
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "3 items exceed MAX_BATCH_ITEMS (2)"
    assert client.post("/v1/predictions/batch", json={"items": [item] * 2}).status_code == 200


def test_max_batch_applies_per_item(make_client: Callable[..., TestClient]) -> None:
    client = make_client(MAX_BATCH=2)
    items = [
        {"model": "iris", "instances": [IRIS_ROW] * 3},
        {"model": "iris", "instances": [IRIS_ROW] * 2},
    ]
    [too_big, fine] = client.post("/v1/predictions/batch", json={"items": items}).json()["results"]
    assert too_big["error"]["message"] == "batch of 3 instances exceeds MAX_BATCH (2)"
    assert fine["ok"] is True
