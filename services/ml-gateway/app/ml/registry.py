"""The set of models the service and the worker serve: built-ins + MODEL_DIR files."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import joblib

from app.core.config import Settings
from app.ml.builtin import train_builtins
from app.ml.model import LoadedModel, ModelSpecError

logger = logging.getLogger(__name__)

#: Model names: lower-case letters, digits, '-' and '_' (they appear in URLs).
MODEL_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MODEL_FILE_SUFFIX = ".joblib"
REQUIRED_KEYS = ("estimator", "feature_names", "kind", "version", "description")
OPTIONAL_KEYS = ("classes", "metrics")


class UnknownModelError(LookupError):
    def __init__(self, name: str, available: Iterable[str]) -> None:
        self.name = name
        names = ", ".join(sorted(available)) or "none"
        super().__init__(f"unknown model {name!r} (available: {names})")


def load_model_file(path: Path) -> LoadedModel:
    """Load one `<name>.joblib` file holding the documented dict (raises ModelSpecError).

    joblib files are pickles: only load files from a trusted directory.
    """
    name = path.name.removesuffix(MODEL_FILE_SUFFIX)
    if not MODEL_NAME_RE.fullmatch(name):
        raise ModelSpecError(
            f"model name {name!r} (from the file name) must match {MODEL_NAME_RE.pattern}"
        )
    try:
        payload: Any = joblib.load(path)
    except Exception as exc:  # corrupt/truncated/unpicklable files all end up here
        raise ModelSpecError(f"cannot unpickle: {type(exc).__name__}: {exc}") from exc
    if not isinstance(payload, dict):
        raise ModelSpecError(f"file must hold a dict, not {type(payload).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise ModelSpecError(f"missing keys: {', '.join(missing)}")
    unknown = sorted(str(k) for k in payload if k not in REQUIRED_KEYS + OPTIONAL_KEYS)
    if unknown:
        raise ModelSpecError(f"unknown keys: {', '.join(unknown)}")
    feature_names = payload["feature_names"]
    if not isinstance(feature_names, list | tuple):
        raise ModelSpecError("feature_names must be a list of strings")
    metrics = payload.get("metrics")
    if metrics is not None and not isinstance(metrics, dict):
        raise ModelSpecError("metrics must be a dict")
    classes = payload.get("classes")
    if classes is not None and not isinstance(classes, list | tuple):
        raise ModelSpecError("classes must be a list")
    return LoadedModel.create(
        name=name,
        version=payload["version"],
        kind=payload["kind"],
        estimator=payload["estimator"],
        feature_names=list(feature_names),
        description=payload["description"],
        classes=classes,
        metrics=metrics,
        source="file",
    )


def load_model_dir(model_dir: Path) -> list[LoadedModel]:
    """Every loadable `*.joblib` file of a directory; bad files are logged and skipped."""
    if not model_dir.is_dir():
        logger.error("MODEL_DIR %s is not a directory; no model files loaded", model_dir)
        return []
    models = []
    for path in sorted(model_dir.glob(f"*{MODEL_FILE_SUFFIX}")):
        try:
            model = load_model_file(path)
        except ModelSpecError as exc:
            logger.error("skipping model file %s: %s", path, exc)
            continue
        logger.info("loaded model %s version %s from %s", model.name, model.version, path)
        models.append(model)
    return models


class ModelRegistry:
    """Models by name. Filled once at start-up, then only read (safe across threads)."""

    def __init__(self, models: Iterable[LoadedModel] = ()) -> None:
        self._models: dict[str, LoadedModel] = {}
        for model in models:
            self.add(model)

    def add(self, model: LoadedModel) -> None:
        """Add a model; a later model of the same name replaces the earlier one."""
        previous = self._models.get(model.name)
        if previous is not None:
            logger.info(
                "model %s from %s replaces the %s one", model.name, model.source, previous.source
            )
        self._models[model.name] = model

    def get(self, name: str) -> LoadedModel:
        try:
            return self._models[name]
        except KeyError:
            raise UnknownModelError(name, self._models) from None

    def names(self) -> list[str]:
        return sorted(self._models)

    def models(self) -> list[LoadedModel]:
        return [self._models[name] for name in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._models

    def __len__(self) -> int:
        return len(self._models)

    def __iter__(self) -> Iterator[LoadedModel]:
        return iter(self.models())

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelRegistry:
        """Train the built-in models (unless DISABLE_BUILTIN_MODELS) and load MODEL_DIR;
        a MODEL_DIR file named like a built-in model replaces it."""
        started = time.perf_counter()
        registry = cls()
        if not settings.DISABLE_BUILTIN_MODELS:
            for model in train_builtins():
                registry.add(model)
        if settings.MODEL_DIR is not None:
            for model in load_model_dir(settings.MODEL_DIR):
                registry.add(model)
        logger.info(
            "model registry ready in %.2fs: %s",
            time.perf_counter() - started,
            ", ".join(f"{m.name}@{m.version}" for m in registry) or "no models",
        )
        return registry


_shared_lock = threading.Lock()
_shared: ModelRegistry | None = None


def get_shared_registry(settings: Settings) -> ModelRegistry:
    """A process-wide registry built on first use (the Celery worker's)."""
    global _shared  # noqa: PLW0603
    with _shared_lock:
        if _shared is None:
            _shared = ModelRegistry.from_settings(settings)
        return _shared
