"""Built-in models, trained at start-up on the data sets scikit-learn ships (no download).

Each data set is split once into a training part and a held-out test part with a fixed
random state; the held-out score (accuracy or R^2) goes into the model's metrics.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import sklearn
from sklearn import datasets
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from app.ml.model import LoadedModel, to_label
from app.ml.schemas import Label, ModelKind

logger = logging.getLogger(__name__)

#: Major version of the built-in model definitions; bump when a model changes meaning.
MODEL_GENERATION = "1"
TEST_SIZE = 0.25
RANDOM_STATE = 42

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BuiltinSpec:
    name: str
    kind: ModelKind
    load: Callable[[], Any]
    make_estimator: Callable[[], Any]
    description: str


@dataclass(frozen=True)
class Split:
    """A data set split into training rows and held-out test rows."""

    x_train: FloatArray
    x_test: FloatArray
    y_train: npt.NDArray[Any]
    y_test: npt.NDArray[Any]
    feature_names: tuple[str, ...]
    #: Display labels of the integer targets (classifiers), else None.
    target_names: tuple[Label, ...] | None


def _scaled_logistic_regression(c: float = 1.0) -> Pipeline:
    return Pipeline(
        [("scale", StandardScaler()), ("model", LogisticRegression(C=c, max_iter=2000))]
    )


BUILTINS: dict[str, BuiltinSpec] = {
    spec.name: spec
    for spec in (
        BuiltinSpec(
            name="iris",
            kind="classifier",
            load=datasets.load_iris,
            make_estimator=lambda: _scaled_logistic_regression(c=10.0),
            description=(
                "Iris species from sepal and petal measurements in cm "
                "(logistic regression on standardised features)."
            ),
        ),
        BuiltinSpec(
            name="wine",
            kind="classifier",
            load=datasets.load_wine,
            make_estimator=_scaled_logistic_regression,
            description=(
                "Wine cultivar (class_0..class_2) from 13 chemical measurements "
                "(logistic regression on standardised features)."
            ),
        ),
        BuiltinSpec(
            name="breast-cancer",
            kind="classifier",
            load=datasets.load_breast_cancer,
            make_estimator=lambda: RandomForestClassifier(
                n_estimators=200, random_state=RANDOM_STATE, n_jobs=1
            ),
            description=(
                "Breast mass diagnosis (malignant or benign) from 30 features of a digitised "
                "fine needle aspirate image (random forest of 200 trees)."
            ),
        ),
        BuiltinSpec(
            name="digits",
            kind="classifier",
            load=datasets.load_digits,
            make_estimator=lambda: _scaled_logistic_regression(c=0.1),
            description=(
                "Handwritten digit 0-9 from an 8x8 image, 64 pixel intensities 0..16 row by "
                "row (logistic regression on standardised pixels)."
            ),
        ),
        BuiltinSpec(
            name="diabetes",
            kind="regressor",
            load=datasets.load_diabetes,
            make_estimator=lambda: Pipeline([("scale", StandardScaler()), ("model", Ridge())]),
            description=(
                "Disease progression one year after baseline from age, sex, BMI, blood pressure "
                "and six serum measurements, all mean-centred and scaled as in scikit-learn's "
                "data set (ridge regression)."
            ),
        ),
    )
}


def load_split(name: str) -> Split:
    """The deterministic train/test split a built-in model is trained and scored on."""
    spec = BUILTINS[name]
    bunch = spec.load()
    x = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target)
    stratify = y if spec.kind == "classifier" else None
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_SIZE, random_state=RANDOM_STATE, stratify=stratify
    )
    target_names: tuple[Label, ...] | None = None
    if spec.kind == "classifier":
        target_names = tuple(to_label(v) for v in bunch.target_names)
    return Split(
        x_train=x_train,
        x_test=x_test,
        y_train=y_train,
        y_test=y_test,
        feature_names=tuple(str(f) for f in bunch.feature_names),
        target_names=target_names,
    )


def model_version(name: str, estimator: Any) -> str:
    """`<generation>+<hash>`: the hash covers the estimator's parameters, the data split and
    the scikit-learn version, so it changes whenever the trained model could."""
    params = estimator.get_params(deep=True)
    payload = json.dumps(
        {
            "name": name,
            "params": sorted((key, repr(value)) for key, value in params.items()),
            "test_size": TEST_SIZE,
            "random_state": RANDOM_STATE,
            "sklearn": sklearn.__version__,
        },
        sort_keys=True,
    )
    return f"{MODEL_GENERATION}+{hashlib.sha256(payload.encode()).hexdigest()[:10]}"


def train_builtin(name: str) -> LoadedModel:
    """Train one built-in model and score it on its held-out split."""
    spec = BUILTINS[name]
    started = time.perf_counter()
    split = load_split(name)
    estimator = spec.make_estimator()
    estimator.fit(split.x_train, split.y_train)
    predicted = estimator.predict(split.x_test)
    metrics: dict[str, float | int] = {
        "train_samples": len(split.x_train),
        "test_samples": len(split.x_test),
    }
    if spec.kind == "classifier":
        metrics["accuracy"] = round(float(accuracy_score(split.y_test, predicted)), 6)
    else:
        metrics["r2"] = round(float(r2_score(split.y_test, predicted)), 6)
        metrics["mae"] = round(float(mean_absolute_error(split.y_test, predicted)), 6)
    model = LoadedModel.create(
        name=name,
        version=model_version(name, estimator),
        kind=spec.kind,
        estimator=estimator,
        feature_names=split.feature_names,
        description=spec.description,
        classes=split.target_names,
        metrics=metrics,
        source="builtin",
        predict_from_proba=spec.kind == "classifier"
        and np.array_equal(
            predicted,
            estimator.classes_[np.argmax(estimator.predict_proba(split.x_test), axis=1)],
        ),
    )
    logger.info(
        "trained built-in model %s version %s in %.2fs: %s",
        name,
        model.version,
        time.perf_counter() - started,
        metrics,
    )
    return model


def train_builtins() -> list[LoadedModel]:
    """Train every built-in model (well under a few seconds in total on 2 cores)."""
    return [train_builtin(name) for name in BUILTINS]
