"""Start-up: the lifespan trains the built-ins and loads MODEL_DIR; an unusable skops file is
skipped, a file that could run code stops start-up."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

from app.main import create_app, operation_id
from tests.helpers import make_settings


def test_lifespan_trains_builtins_and_loads_model_dir(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = np.where(x[:, 0] + x[:, 1] > 0, "up", "down")
    estimator = LogisticRegression().fit(x, y)
    sio.dump(
        {
            "estimator": estimator,
            "feature_names": ["x0", "x1"],
            "kind": "classifier",
            "version": "3",
            "description": "sign of x0 + x1",
        },
        tmp_path / "sign.skops",
    )
    (tmp_path / "broken.skops").write_bytes(b"PK\x03\x04 truncated")

    app = create_app(make_settings(MODEL_DIR=tmp_path))
    with caplog.at_level(logging.INFO, logger="app"), TestClient(app) as client:
        assert client.get("/readyz").json() == {"status": "ready", "models": 6}
        info = client.get("/v1/models/sign").json()
        assert info["source"] == "file"
        assert info["output"]["classes"] == ["down", "up"]
        rows = rng.normal(size=(20, 2))
        body = client.post("/v1/models/sign/predict", json={"instances": rows.tolist()}).json()
        assert body["version"] == "3"
        assert body["predictions"] == estimator.predict(rows).tolist()
        np.testing.assert_allclose(body["probabilities"], estimator.predict_proba(rows))
        assert client.get("/v1/models/iris").json()["metrics"]["accuracy"] >= 0.9

    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "broken.skops" in errors[0]


def test_operation_id_is_camel_case() -> None:
    class Route:
        name = "list_models"

    assert operation_id(Route()) == "listModels"  # type: ignore[arg-type]
