"""A servable model: estimator + metadata, input validation and prediction."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

import numpy as np
import numpy.typing as npt

from app.ml.schemas import (
    FeatureSpec,
    InputSchema,
    Label,
    ModelInfo,
    ModelKind,
    ModelSource,
    OutputSpec,
)

FloatArray = npt.NDArray[np.float64]
#: Stop collecting input errors after this many (the message stays readable).
MAX_REPORTED_ERRORS = 10


class ModelSpecError(ValueError):
    """A model (or model file) is not usable: inconsistent metadata or estimator."""


@dataclass(frozen=True)
class InputError:
    #: Location inside the `instances` list: () for the list, (i,) for instance i,
    #: (i, j) for feature j of instance i.
    loc: tuple[int, ...]
    msg: str
    type: str


class InvalidInputError(ValueError):
    """The instances cannot be fed to the model; `errors` says where and why."""

    def __init__(self, errors: Sequence[InputError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(error.msg for error in self.errors))


@dataclass(frozen=True)
class PredictionResult:
    predictions: list[Label]
    probabilities: list[list[float]] | None


def to_label(value: Any) -> Label:
    """A numpy scalar (or plain value) as a JSON-friendly int, float or str."""
    item = value.item() if isinstance(value, np.generic) else value
    if isinstance(item, bool) or not isinstance(item, int | float | str):
        return str(item)
    return item


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _check_metadata(
    *,
    kind: str,
    estimator: Any,
    feature_names: Sequence[str],
    version: str,
    description: str,
    metrics: Mapping[str, float | int] | None,
) -> None:
    if kind not in get_args(ModelKind):
        raise ModelSpecError(f"kind must be 'classifier' or 'regressor', not {kind!r}")
    if not callable(getattr(estimator, "predict", None)):
        raise ModelSpecError("estimator has no predict() method")
    if not feature_names or not all(isinstance(f, str) and f for f in feature_names):
        raise ModelSpecError("feature_names must be a non-empty list of non-empty strings")
    if len(set(feature_names)) != len(feature_names):
        raise ModelSpecError("feature_names must be unique")
    if not isinstance(version, str) or not version.strip():
        raise ModelSpecError("version must be a non-empty string")
    if not isinstance(description, str):
        raise ModelSpecError("description must be a string")
    expected = getattr(estimator, "n_features_in_", None)
    if expected is not None and int(expected) != len(feature_names):
        raise ModelSpecError(
            f"estimator was fitted on {expected} features but feature_names has "
            f"{len(feature_names)}"
        )
    for key, value in (metrics or {}).items():
        if not isinstance(key, str) or not _is_number(value):
            raise ModelSpecError("metrics must map names to numbers")


@dataclass(frozen=True)
class LoadedModel:
    name: str
    version: str
    kind: ModelKind
    estimator: Any = field(repr=False)
    feature_names: tuple[str, ...]
    description: str
    #: Classifiers: display labels, one per entry of `estimator.classes_`, same order.
    classes: tuple[Label, ...] | None
    metrics: Mapping[str, float | int]
    source: ModelSource
    #: estimator output -> display label (classifiers).
    label_map: Mapping[Label, Label] | None = field(repr=False, default=None)
    #: Classifiers whose predict() is by definition the class of highest predict_proba()
    #: (logistic regression, random forests): one estimator call per batch instead of two.
    predict_from_proba: bool = False

    @classmethod
    def create(
        cls,
        *,
        name: str,
        version: str,
        kind: str,
        estimator: Any,
        feature_names: Sequence[str],
        description: str,
        classes: Sequence[Any] | None = None,
        metrics: Mapping[str, float | int] | None = None,
        source: ModelSource,
        predict_from_proba: bool = False,
    ) -> LoadedModel:
        """Check the pieces fit together and build the model (raises ModelSpecError)."""
        _check_metadata(
            kind=kind,
            estimator=estimator,
            feature_names=feature_names,
            version=version,
            description=description,
            metrics=metrics,
        )
        display: tuple[Label, ...] | None = None
        label_map: dict[Label, Label] | None = None
        if kind == "classifier":
            raw = getattr(estimator, "classes_", None)
            if raw is None:
                raise ModelSpecError("a classifier's estimator must have classes_ (is it fitted?)")
            raw_labels = [to_label(c) for c in raw]
            if classes is None:
                display = tuple(raw_labels)
            else:
                if len(classes) != len(raw_labels):
                    raise ModelSpecError(
                        f"classes has {len(classes)} entries but the estimator has "
                        f"{len(raw_labels)} classes"
                    )
                display = tuple(to_label(c) for c in classes)
            if len(set(display)) != len(display):
                raise ModelSpecError("class labels must be unique")
            label_map = dict(zip(raw_labels, display, strict=True))
        elif classes is not None:
            raise ModelSpecError("classes is only allowed for classifiers")
        model = cls(
            name=name,
            version=version,
            kind=kind,  # type: ignore[arg-type]  # checked above
            estimator=estimator,
            feature_names=tuple(feature_names),
            description=description,
            classes=display,
            metrics=dict(metrics or {}),
            source=source,
            label_map=label_map,
            predict_from_proba=predict_from_proba and kind == "classifier",
        )
        try:  # a smoke test: one all-zero row must go through predict()
            model.predict(np.zeros((1, len(feature_names))))
        except Exception as exc:
            raise ModelSpecError(f"estimator cannot predict one row: {exc}") from exc
        return model

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def info(self) -> ModelInfo:
        return ModelInfo(
            name=self.name,
            version=self.version,
            kind=self.kind,
            source=self.source,
            input_schema=InputSchema(
                features=[FeatureSpec(name=f) for f in self.feature_names],
                count=self.n_features,
            ),
            output=OutputSpec(
                description=self.description,
                classes=list(self.classes) if self.classes is not None else None,
            ),
            metrics=dict(self.metrics),
        )

    def validate_instances(
        self, instances: object, *, max_batch: int, check_values: bool = True
    ) -> FloatArray:
        """The instances as a 2-D float array, or InvalidInputError saying what is wrong.

        `check_values=False` skips the per-value type/finiteness checks for input that was
        already validated (the HTTP request model does that).
        """
        if not isinstance(instances, list):
            raise InvalidInputError(
                [
                    InputError(
                        (), "instances must be a list of instances (lists of numbers)", "list_type"
                    )
                ]
            )
        if not instances:
            raise InvalidInputError(
                [InputError((), "instances must contain at least 1 instance", "too_short")]
            )
        if len(instances) > max_batch:
            raise InvalidInputError(
                [
                    InputError(
                        (),
                        f"batch of {len(instances)} instances exceeds MAX_BATCH ({max_batch})",
                        "too_long",
                    )
                ]
            )
        errors: list[InputError] = []
        expected = self.n_features
        for i, row in enumerate(instances):
            if len(errors) >= MAX_REPORTED_ERRORS:
                break
            if not isinstance(row, list):
                errors.append(
                    InputError((i,), f"instance {i} is not a list of numbers", "list_type")
                )
                continue
            if len(row) != expected:
                errors.append(
                    InputError(
                        (i,),
                        f"instance {i} has {len(row)} features; "
                        f"model {self.name} expects {expected}",
                        "feature_count",
                    )
                )
                continue
            if not check_values:
                continue
            for j, value in enumerate(row):
                where = f"instance {i} feature {j} ({self.feature_names[j]})"
                if not _is_number(value):
                    errors.append(InputError((i, j), f"{where} is not a number", "number_type"))
                elif not _is_finite(value):
                    errors.append(
                        InputError((i, j), f"{where} is not a finite number", "finite_number")
                    )
        if errors:
            raise InvalidInputError(errors)
        return np.asarray(instances, dtype=np.float64)

    def predict(self, x: FloatArray) -> PredictionResult:
        """Predict validated rows (shape (n, n_features)).

        The errors scikit-learn raises for values outside what an estimator can handle
        (ValueError, e.g. negative counts; IndexError, e.g. an unseen category) become
        InvalidInputError, like any other bad input.
        """
        predict_proba = getattr(self.estimator, "predict_proba", None)
        try:
            proba = (
                np.asarray(predict_proba(x), dtype=np.float64)
                if self.kind == "classifier" and callable(predict_proba)
                else None
            )
            raw = (
                np.asarray(self.estimator.classes_)[np.argmax(proba, axis=1)]
                if self.predict_from_proba and proba is not None
                else np.asarray(self.estimator.predict(x))
            )
        except (ValueError, IndexError) as exc:
            message = f"model {self.name} cannot predict these instances: {exc}"
            raise InvalidInputError([InputError((), message, "prediction_error")]) from exc
        if raw.ndim != 1 or raw.shape[0] != x.shape[0]:
            raise ModelSpecError(f"predict() returned shape {raw.shape}, expected ({x.shape[0]},)")
        if self.kind == "classifier":
            label_map = self.label_map or {}
            predictions = [label_map.get(label, label) for label in map(to_label, raw)]
        else:
            predictions = [float(v) for v in raw]
        return PredictionResult(
            predictions=predictions,
            probabilities=proba.tolist() if proba is not None else None,
        )
