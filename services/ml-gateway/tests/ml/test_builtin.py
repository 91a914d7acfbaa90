"""The built-in models are real: trained on scikit-learn's data sets and good on held-out rows."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, r2_score

from app.ml.builtin import BUILTINS, load_split, model_version
from app.ml.registry import ModelRegistry

# Minimum held-out score of each built-in model: accuracy, or R^2 for the regressor.
THRESHOLDS = {
    "iris": ("accuracy", 0.9),
    "wine": ("accuracy", 0.9),
    "breast-cancer": ("accuracy", 0.93),
    "digits": ("accuracy", 0.93),
    "diabetes": ("r2", 0.3),
}


def test_every_builtin_is_registered(registry: ModelRegistry) -> None:
    assert set(BUILTINS) == set(THRESHOLDS)
    assert set(registry.names()) == set(THRESHOLDS)
    assert all(model.source == "builtin" for model in registry)


@pytest.mark.parametrize(("name", "threshold"), THRESHOLDS.items())
def test_held_out_score_is_above_threshold_and_recomputes(
    registry: ModelRegistry, name: str, threshold: tuple[str, float]
) -> None:
    metric, minimum = threshold
    model = registry.get(name)
    recorded = model.metrics[metric]
    assert recorded >= minimum, f"{name} held-out {metric} {recorded} < {minimum}"

    # The recorded number is really the estimator's score on the held-out rows.
    split = load_split(name)
    predicted = model.estimator.predict(split.x_test)
    score = (
        accuracy_score(split.y_test, predicted)
        if metric == "accuracy"
        else r2_score(split.y_test, predicted)
    )
    assert score == pytest.approx(recorded, abs=1e-6)
    assert model.metrics["test_samples"] == len(split.x_test)
    assert model.metrics["train_samples"] == len(split.x_train)


@pytest.mark.parametrize("name", sorted(THRESHOLDS))
def test_split_is_deterministic_and_disjoint(name: str) -> None:
    first, second = load_split(name), load_split(name)
    np.testing.assert_array_equal(first.x_test, second.x_test)
    np.testing.assert_array_equal(first.y_train, second.y_train)
    train_rows = {row.tobytes() for row in first.x_train}
    overlap = sum(row.tobytes() in train_rows for row in first.x_test)
    # digits has a few identical images; no other data set has duplicate rows.
    assert overlap <= (5 if name == "digits" else 0)
    assert len(first.x_test) / (len(first.x_test) + len(first.x_train)) == pytest.approx(
        0.25, abs=0.01
    )


def test_versions_hash_the_parameters(registry: ModelRegistry) -> None:
    for name, spec in BUILTINS.items():
        version = registry.get(name).version
        assert re.fullmatch(r"1\+[0-9a-f]{10}", version), version
        # Same definition -> same version; other parameters -> another version.
        assert model_version(name, spec.make_estimator()) == version
        changed = spec.make_estimator()
        param = "model__tol" if "model__tol" in changed.get_params() else "min_samples_leaf"
        changed.set_params(**{param: 0.5 if param == "model__tol" else 3})
        assert model_version(name, changed) != version
    assert len({model.version for model in registry}) == len(BUILTINS)


def test_classifier_labels_are_the_data_sets_target_names(registry: ModelRegistry) -> None:
    assert registry.get("iris").classes == ("setosa", "versicolor", "virginica")
    assert registry.get("wine").classes == ("class_0", "class_1", "class_2")
    assert registry.get("breast-cancer").classes == ("malignant", "benign")
    assert registry.get("digits").classes == tuple(range(10))
    assert registry.get("diabetes").classes is None
    assert registry.get("iris").feature_names[0] == "sepal length (cm)"
    assert registry.get("digits").n_features == 64
    assert registry.get("diabetes").n_features == 10
