"""GET /v1/models, GET /v1/models/{name}, POST /v1/models/{name}/predict."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.ml.builtin import load_split
from app.ml.model import LoadedModel
from app.ml.registry import ModelRegistry
from tests.helpers import categorical_digits_payload

THRESHOLDS = {"iris": 0.9, "wine": 0.9, "breast-cancer": 0.93, "digits": 0.93}


def test_list_models(client: TestClient) -> None:
    response = client.get("/v1/models")
    assert response.status_code == 200
    models = {m["name"]: m for m in response.json()["data"]}
    assert sorted(models) == ["breast-cancer", "diabetes", "digits", "iris", "wine"]
    for model in models.values():
        assert model["input_schema"]["count"] == len(model["input_schema"]["features"])
        assert {f["type"] for f in model["input_schema"]["features"]} == {"number"}
        assert model["version"].startswith("1+")
        assert model["source"] == "builtin"
        if model["kind"] == "classifier":
            assert model["output"]["classes"]
            assert 0.9 <= model["metrics"]["accuracy"] <= 1.0
        else:
            assert model["output"]["classes"] is None
            assert model["metrics"]["r2"] >= 0.3


def test_get_model(client: TestClient, registry: ModelRegistry) -> None:
    response = client.get("/v1/models/iris")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "iris"
    assert body["kind"] == "classifier"
    assert body["version"] == registry.get("iris").version
    assert [f["name"] for f in body["input_schema"]["features"]] == [
        "sepal length (cm)",
        "sepal width (cm)",
        "petal length (cm)",
        "petal width (cm)",
    ]
    assert body["input_schema"]["count"] == 4
    assert body["output"]["classes"] == ["setosa", "versicolor", "virginica"]
    assert body["output"]["description"]
    assert body["metrics"]["test_samples"] == 38


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/models/nope"), ("POST", "/v1/models/nope/predict")],
)
def test_unknown_model_is_404(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, json={"instances": [[1.0]]})
    assert response.status_code == 404
    assert response.json()["detail"].startswith("unknown model 'nope'")


@pytest.mark.parametrize("name", ["iris", "wine", "breast-cancer", "digits"])
def test_classifier_predictions_match_estimator_on_held_out_rows(
    client: TestClient, registry: ModelRegistry, name: str
) -> None:
    model = registry.get(name)
    split = load_split(name)
    response = client.post(f"/v1/models/{name}/predict", json={"instances": split.x_test.tolist()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["model"], body["version"]) == (name, model.version)

    assert model.classes is not None
    labels = list(model.classes)
    expected = [labels[int(i)] for i in model.estimator.predict(split.x_test)]
    assert body["predictions"] == expected
    # ... and the API's answers are mostly right on rows the model never saw.
    assert split.target_names is not None
    truth = [split.target_names[int(i)] for i in split.y_test]
    accuracy = np.mean([p == t for p, t in zip(body["predictions"], truth, strict=True)])
    assert accuracy >= THRESHOLDS[name]

    probabilities = np.array(body["probabilities"])
    assert probabilities.shape == (len(split.x_test), len(labels))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-9)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    np.testing.assert_allclose(probabilities, model.estimator.predict_proba(split.x_test))
    assert [labels[i] for i in probabilities.argmax(axis=1)] == body["predictions"]


def test_regressor_predictions_match_estimator_on_held_out_rows(
    client: TestClient, registry: ModelRegistry
) -> None:
    split = load_split("diabetes")
    response = client.post("/v1/models/diabetes/predict", json={"instances": split.x_test.tolist()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["probabilities"] is None
    expected = registry.get("diabetes").estimator.predict(split.x_test)
    np.testing.assert_allclose(body["predictions"], expected, rtol=1e-12)
    residual = np.sum((split.y_test - np.array(body["predictions"])) ** 2)
    r2 = 1 - residual / np.sum((split.y_test - split.y_test.mean()) ** 2)
    assert r2 >= 0.3


def test_integers_are_numbers(client: TestClient) -> None:
    response = client.post("/v1/models/iris/predict", json={"instances": [[5, 3, 1, 0]]})
    assert response.status_code == 200
    assert response.json()["predictions"] == ["setosa"]


def test_full_max_batch_is_accepted(client: TestClient) -> None:
    rows = load_split("iris").x_test.tolist()
    instances = (rows * 27)[:1000]
    response = client.post("/v1/models/iris/predict", json={"instances": instances})
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 1000


IRIS_ROW = [5.1, 3.5, 1.4, 0.2]

# (case, raw request body, fragment of one error's msg, expected loc of that error)
BAD_BODIES: list[tuple[str, str, str, list[Any]]] = [
    ("empty batch", '{"instances": []}', "at least 1 item", ["body", "instances"]),
    ("missing instances", "{}", "Field required", ["body", "instances"]),
    ("null instances", '{"instances": null}', "valid list", ["body", "instances"]),
    ("instances not a list", '{"instances": "1,2"}', "valid list", ["body", "instances"]),
    ("flat list", '{"instances": [5.1, 3.5, 1.4, 0.2]}', "valid list", ["body", "instances", 0]),
    (
        "too few features",
        '{"instances": [[5.1, 3.5, 1.4]]}',
        "instance 0 has 3 features; model iris expects 4",
        ["body", "instances", 0],
    ),
    (
        "too many features in the 4th instance",
        json.dumps({"instances": [IRIS_ROW] * 3 + [[1, 2, 3, 4, 5]]}),
        "instance 3 has 5 features; model iris expects 4",
        ["body", "instances", 3],
    ),
    (
        "empty instance",
        '{"instances": [[]]}',
        "instance 0 has 0 features; model iris expects 4",
        ["body", "instances", 0],
    ),
    ("string value", '{"instances": [["a", 3.5, 1.4, 0.2]]}', "valid number", [0, 0]),
    ("numeric string", '{"instances": [[5.1, "3.5", 1.4, 0.2]]}', "valid number", [0, 1]),
    ("boolean value", '{"instances": [[true, 3.5, 1.4, 0.2]]}', "valid number", [0, 0]),
    ("null value", '{"instances": [[5.1, null, 1.4, 0.2]]}', "valid number", [0, 1]),
    ("nested list", '{"instances": [[5.1, [3.5], 1.4, 0.2]]}', "valid number", [0, 1]),
    ("NaN", '{"instances": [[5.1, 3.5, NaN, 0.2]]}', "finite number", [0, 2]),
    ("Infinity", '{"instances": [[Infinity, 3.5, 1.4, 0.2]]}', "finite number", [0, 0]),
    ("-Infinity", '{"instances": [[5.1, 3.5, 1.4, -Infinity]]}', "finite number", [0, 3]),
    ("overflowing float", '{"instances": [[1e400, 3.5, 1.4, 0.2]]}', "finite number", [0, 0]),
    ("huge integer", '{"instances": [[' + "9" * 400 + ", 3.5, 1.4, 0.2]]}", "valid number", [0, 0]),
    ("extra field", '{"instances": [[5.1, 3.5, 1.4, 0.2]], "x": 1}', "Extra inputs", ["body", "x"]),
    ("invalid JSON", '{"instances": [[5.1, 3.5', "JSON decode error", []),
    ("JSON array body", "[[5.1, 3.5, 1.4, 0.2]]", "valid dictionary", ["body"]),
    (
        "batch over MAX_BATCH",
        json.dumps({"instances": [IRIS_ROW] * 1001}),
        "batch of 1001 instances exceeds MAX_BATCH (1000)",
        ["body", "instances"],
    ),
]


@pytest.mark.parametrize(
    ("body", "message", "loc"),
    [pytest.param(body, message, loc, id=case) for case, body, message, loc in BAD_BODIES],
)
def test_bad_input_is_422_with_a_clear_detail(
    client: TestClient, body: str, message: str, loc: list[Any]
) -> None:
    response = client.post(
        "/v1/models/iris/predict", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    assert detail
    assert all({"type", "loc", "msg"} <= set(error) for error in detail)
    matching = [error for error in detail if message in error["msg"]]
    assert matching, detail
    if loc and isinstance(loc[0], int):  # a value inside instances
        loc = ["body", "instances", *loc]
    if loc:
        assert matching[0]["loc"] == loc, matching[0]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (
            '{"instances": [[' + "9" * 5000 + ", 1, 2, 3]]}",
            "application/json",
        ),  # > int digits limit
        (b"\xff\xfe\x00", "application/json"),
        ('{"instances": [[1, 2, 3, 4]]}', "text/plain"),
        ("", "application/json"),
    ],
    ids=["int-beyond-digit-limit", "not-utf8", "text-plain", "empty-body"],
)
def test_unparseable_bodies_are_client_errors(
    client: TestClient, body: str | bytes, content_type: str
) -> None:
    response = client.post(
        "/v1/models/iris/predict", content=body, headers={"content-type": content_type}
    )
    assert response.status_code in (400, 422), response.text
    assert "detail" in response.json()


def test_nan_input_is_echoed_as_a_string(client: TestClient) -> None:
    response = client.post(
        "/v1/models/iris/predict",
        content='{"instances": [[NaN, 1, 2, 3]]}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["input"] == "nan"


@pytest.mark.parametrize(
    ("value", "reason"),
    [(-1.0, "Negative values in data passed to CategoricalNB"), (99.0, "out of bounds")],
    ids=["negative", "unseen-category"],
)
def test_values_the_estimator_rejects_are_422(
    make_client: Callable[..., TestClient], value: float, reason: str
) -> None:
    model = LoadedModel.create(name="digits-nb", source="file", **categorical_digits_payload())
    client = make_client(registry_override=ModelRegistry([model]))
    good = client.post("/v1/models/digits-nb/predict", json={"instances": [[0.0] * 64]})
    assert good.status_code == 200
    response = client.post("/v1/models/digits-nb/predict", json={"instances": [[value] * 64]})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["msg"].startswith("model digits-nb cannot predict these instances: ")
    assert reason in error["msg"]
    assert error["loc"] == ["body", "instances"]


def test_max_batch_comes_from_settings(make_client: Callable[..., TestClient]) -> None:
    client = make_client(MAX_BATCH=2)
    response = client.post("/v1/models/iris/predict", json={"instances": [IRIS_ROW] * 3})
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "batch of 3 instances exceeds MAX_BATCH (2)"
    ok = client.post("/v1/models/iris/predict", json={"instances": [IRIS_ROW] * 2})
    assert ok.status_code == 200


def test_operation_ids_are_readable(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation_ids = {
        (method.upper(), path): operation["operationId"]
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    }
    assert operation_ids == {
        ("GET", "/v1/models"): "listModels",
        ("GET", "/v1/models/{name}"): "getModel",
        ("POST", "/v1/models/{name}/predict"): "predict",
        ("POST", "/v1/predictions/batch"): "predictBatch",
        ("GET", "/healthz"): "healthz",
        ("GET", "/readyz"): "readyz",
        ("GET", "/metrics"): "metrics",
    }
    predict_responses = spec["paths"]["/v1/models/{name}/predict"]["post"]["responses"]
    assert {"200", "404", "422"} <= set(predict_responses)
