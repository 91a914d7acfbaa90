"""/healthz, /readyz and /metrics."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.ml.registry import ModelRegistry


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text as {(sample name, sorted labels): value}."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "models": None}


def test_readyz_when_models_are_loaded(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "models": 5}


def test_readyz_without_models_is_503(make_client: Callable[..., TestClient]) -> None:
    client = make_client(registry_override=ModelRegistry(), DISABLE_BUILTIN_MODELS=True)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "not ready", "models": 0}
    assert client.get("/healthz").status_code == 200
    assert client.get("/v1/models").json() == {"data": []}


def test_metrics_count_requests_latency_and_predictions(client: TestClient) -> None:
    row = [5.1, 3.5, 1.4, 0.2]
    assert client.post("/v1/models/iris/predict", json={"instances": [row, row]}).status_code == 200
    assert client.post("/v1/models/iris/predict", json={"instances": [row]}).status_code == 200
    assert client.post("/v1/models/wine/predict", json={"instances": [row]}).status_code == 422
    assert client.get("/v1/models/nope").status_code == 404
    assert client.get("/no/such/path").status_code == 404

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values = samples(response.text)

    def value(name: str, **labels: str) -> float:
        return values.get((name, tuple(sorted(labels.items()))), 0.0)

    predict_route = "/v1/models/{name}/predict"
    assert value("ml_gateway_predictions_total", model="iris") == 3
    assert value("ml_gateway_predictions_total", model="wine") == 0
    assert value("ml_gateway_prediction_requests_total", model="iris", outcome="ok") == 2
    assert value("ml_gateway_prediction_requests_total", model="wine", outcome="invalid") == 1
    http = "ml_gateway_http_requests_total"
    assert value(http, method="POST", route=predict_route, status="200") == 2
    assert value(http, method="POST", route=predict_route, status="422") == 1
    assert value(http, method="GET", route="/v1/models/{name}", status="404") == 1
    assert value(http, method="GET", route="<unmatched>", status="404") == 1
    latency = "ml_gateway_http_request_duration_seconds_count"
    assert value(latency, method="POST", route=predict_route) == 3
    assert value("ml_gateway_models_loaded") == 5
    assert re.search(
        r'^ml_gateway_http_request_duration_seconds_bucket\{le="\+Inf",method="POST",'
        r'route="/v1/models/\{name\}/predict"\} 3\.0$',
        response.text,
        re.MULTILINE,
    )
    # Concrete model names never become route labels.
    assert "/v1/models/iris" not in response.text


def test_each_app_has_its_own_metrics(
    client: TestClient, make_client: Callable[..., TestClient]
) -> None:
    client.post("/v1/models/iris/predict", json={"instances": [[1, 2, 3, 4]]})
    other = make_client()
    values = samples(other.get("/metrics").text)
    assert ("ml_gateway_predictions_total", (("model", "iris"),)) not in values
