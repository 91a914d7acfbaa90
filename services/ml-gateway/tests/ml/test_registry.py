"""Loading MODEL_DIR files, the registry, and input validation shared by API and worker."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_wine
from sklearn.linear_model import LinearRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from app.ml.model import MAX_REPORTED_ERRORS, InvalidInputError, LoadedModel
from app.ml.registry import (
    ModelRegistry,
    UnknownModelError,
    load_model_dir,
    load_model_file,
)
from tests.helpers import make_settings


def trained_wine_knn() -> dict[str, Any]:
    """A model file's payload: a k-NN wine classifier trained here on integer targets."""
    data = load_wine()
    estimator = make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=5))
    estimator.fit(data.data[::2], data.target[::2])
    return {
        "estimator": estimator,
        "feature_names": list(data.feature_names),
        "kind": "classifier",
        "version": "2024.1",
        "description": "wine cultivar by 5 nearest neighbours",
        "classes": ["barolo", "grignolino", "barbera"],
        "metrics": {"accuracy": 0.95},
    }


def trained_regressor() -> dict[str, Any]:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(60, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + 3.0
    return {
        "estimator": LinearRegression().fit(x, y),
        "feature_names": ["a", "b", "c"],
        "kind": "regressor",
        "version": "7",
        "description": "y = 1.5a - 2b + 0.5c + 3",
    }


def test_saved_classifier_round_trip(tmp_path: Path) -> None:
    payload = trained_wine_knn()
    sio.dump(payload, tmp_path / "wine-knn.skops")

    [model] = load_model_dir(tmp_path)

    assert (model.name, model.version, model.kind, model.source) == (
        "wine-knn",
        "2024.1",
        "classifier",
        "file",
    )
    assert model.classes == ("barolo", "grignolino", "barbera")
    assert model.metrics == {"accuracy": 0.95}
    rows = load_wine().data[1::2]
    result = model.predict(model.validate_instances(rows.tolist(), max_batch=1000))
    expected = payload["estimator"].predict(rows)
    assert result.predictions == [payload["classes"][int(i)] for i in expected]
    assert result.probabilities is not None
    np.testing.assert_allclose(result.probabilities, payload["estimator"].predict_proba(rows))
    info = model.info()
    assert info.input_schema.count == 13
    assert info.output.classes == ["barolo", "grignolino", "barbera"]
    assert info.output.description == "wine cultivar by 5 nearest neighbours"


def test_saved_regressor_without_optional_keys(tmp_path: Path) -> None:
    sio.dump(trained_regressor(), tmp_path / "linear.skops")
    model = load_model_file(tmp_path / "linear.skops")
    result = model.predict(np.array([[1.0, 1.0, 2.0], [0.0, 0.0, 0.0]]))
    assert result.probabilities is None
    assert result.predictions == pytest.approx([3.5, 3.0])
    assert all(isinstance(p, float) for p in result.predictions)
    assert model.classes is None
    assert model.metrics == {}


def test_file_model_replaces_builtin_of_same_name(tmp_path: Path) -> None:
    payload = trained_wine_knn()
    sio.dump(payload, tmp_path / "wine.skops")
    sio.dump(trained_regressor(), tmp_path / "extra.skops")
    registry = ModelRegistry.from_settings(make_settings(MODEL_DIR=tmp_path))
    assert registry.names() == ["breast-cancer", "diabetes", "digits", "extra", "iris", "wine"]
    assert registry.get("wine").source == "file"
    assert registry.get("wine").version == "2024.1"
    assert registry.get("iris").source == "builtin"


def test_builtins_can_be_disabled(tmp_path: Path) -> None:
    sio.dump(trained_regressor(), tmp_path / "extra.skops")
    registry = ModelRegistry.from_settings(
        make_settings(MODEL_DIR=tmp_path, DISABLE_BUILTIN_MODELS=True)
    )
    assert registry.names() == ["extra"]


def _unfitted() -> dict[str, Any]:
    payload = trained_regressor()
    payload["estimator"] = LinearRegression()
    return payload


def _with(**changes: Any) -> dict[str, Any]:
    payload = trained_wine_knn()
    for key, value in changes.items():
        if value is ...:
            del payload[key]
        else:
            payload[key] = value
    return payload


BAD_FILES: dict[str, tuple[Any, str]] = {
    # file name -> (content, fragment of the logged reason)
    "garbage.skops": (b"this is not a skops file at all", "not a skops file"),
    "a-list.skops": (["not", "a", "dict"], "must hold a dict"),
    "no-estimator.skops": (_with(estimator=...), "missing keys: estimator"),
    "no-version.skops": (_with(version=...), "missing keys: version"),
    "bad-kind.skops": (_with(kind="clusterer"), "kind must be"),
    "too-few-names.skops": (_with(feature_names=["a", "b"]), "fitted on 13 features"),
    "names-not-list.skops": (_with(feature_names="alcohol"), "feature_names must be a list"),
    "dup-names.skops": (_with(feature_names=["x"] * 13), "must be unique"),
    "classes-mismatch.skops": (_with(classes=["a", "b"]), "classes has 2 entries"),
    "extra-key.skops": (_with(owner="me"), "unknown keys: owner"),
    "empty-version.skops": (_with(version=" "), "version must be a non-empty string"),
    "bad-metrics.skops": (_with(metrics={"accuracy": "high"}), "metrics must map"),
    "unfitted.skops": (_unfitted(), "cannot predict one row"),
    "no-predict.skops": (_with(estimator=[1, 2]), "no predict() method"),
    "Bad Name.skops": (trained_regressor(), "must match"),
}


def test_bad_model_files_are_skipped_with_a_logged_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for file_name, (content, _) in BAD_FILES.items():
        path = tmp_path / file_name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            sio.dump(content, path)
    sio.dump(trained_regressor(), tmp_path / "good.skops")
    (tmp_path / ".hidden").write_text("hidden entries (a ConfigMap's ..data) are ignored")

    with caplog.at_level(logging.INFO, logger="app"):
        models = load_model_dir(tmp_path)

    assert [m.name for m in models] == ["good"]
    errors = {r.getMessage() for r in caplog.records if r.levelno == logging.ERROR}
    assert len(errors) == len(BAD_FILES)
    for file_name, (_, reason) in BAD_FILES.items():
        matching = [m for m in errors if f"{file_name}:" in m]
        assert len(matching) == 1, (file_name, errors)
        assert reason in matching[0], (file_name, matching[0])


def test_missing_model_dir_is_logged_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="app"):
        registry = ModelRegistry.from_settings(
            make_settings(MODEL_DIR=tmp_path / "nope", DISABLE_BUILTIN_MODELS=True)
        )
    assert len(registry) == 0
    assert any("is not a directory" in r.getMessage() for r in caplog.records)


def test_unknown_model_lists_the_available_ones(registry: ModelRegistry) -> None:
    with pytest.raises(UnknownModelError, match=r"unknown model 'nope' \(available: breast"):
        registry.get("nope")
    assert "iris" in registry
    assert "nope" not in registry


@pytest.fixture(scope="module")
def iris(registry: ModelRegistry) -> LoadedModel:
    return registry.get("iris")


OK_ROW = [5.1, 3.5, 1.4, 0.2]

# Raw (JSON-decoded) instances as the Celery task receives them -> expected message.
INVALID_INSTANCES: list[tuple[str, Any, str]] = [
    ("not a list", {"a": 1}, "instances must be a list"),
    ("string", "1,2,3,4", "instances must be a list"),
    ("empty batch", [], "at least 1 instance"),
    ("flat list", [5.1, 3.5, 1.4, 0.2], "instance 0 is not a list of numbers"),
    ("too few", [OK_ROW, [1.0, 2.0, 3.0]], "instance 1 has 3 features; model iris expects 4"),
    ("too many", [[1, 2, 3, 4, 5]], "instance 0 has 5 features; model iris expects 4"),
    ("empty row", [[]], "instance 0 has 0 features; model iris expects 4"),
    ("string value", [[1, "2", 3, 4]], "instance 0 feature 1 (sepal width (cm)) is not a number"),
    ("bool value", [[True, 2, 3, 4]], "instance 0 feature 0 (sepal length (cm)) is not a number"),
    ("null value", [[1, 2, None, 4]], "instance 0 feature 2 (petal length (cm)) is not a number"),
    ("nested", [[1, 2, 3, [4]]], "instance 0 feature 3 (petal width (cm)) is not a number"),
    ("nan", [[1, 2, 3, math.nan]], "feature 3 (petal width (cm)) is not a finite number"),
    ("inf", [[math.inf, 2, 3, 4]], "feature 0 (sepal length (cm)) is not a finite number"),
    ("-inf", [[1, -math.inf, 3, 4]], "feature 1 (sepal width (cm)) is not a finite number"),
    ("huge int", [[10**400, 2, 3, 4]], "feature 0 (sepal length (cm)) is not a finite number"),
    ("over max batch", [OK_ROW] * 6, "batch of 6 instances exceeds MAX_BATCH (5)"),
]


@pytest.mark.parametrize(
    ("instances", "message"),
    [pytest.param(value, message, id=case) for case, value, message in INVALID_INSTANCES],
)
def test_invalid_instances(iris: LoadedModel, instances: Any, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        iris.validate_instances(instances, max_batch=5)
    assert message in str(caught.value)


def test_error_list_is_capped_and_located(iris: LoadedModel) -> None:
    with pytest.raises(InvalidInputError) as caught:
        iris.validate_instances([[1.0]] * 50, max_batch=100)
    errors = caught.value.errors
    assert len(errors) == MAX_REPORTED_ERRORS
    assert [e.loc for e in errors[:2]] == [(0,), (1,)]
    assert {e.type for e in errors} == {"feature_count"}


def test_valid_instances_become_a_float_matrix(iris: LoadedModel) -> None:
    x = iris.validate_instances([OK_ROW, [1, 2, 3, 4]], max_batch=2)
    assert x.dtype == np.float64
    assert x.shape == (2, 4)
