"""The set of models the service and the worker serve: built-ins + MODEL_DIR files."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import skops.io as sio
from skops.io.exceptions import UntrustedTypesFoundException

from app.core.config import Settings
from app.ml.builtin import train_builtins
from app.ml.model import LoadedModel, ModelSpecError

logger = logging.getLogger(__name__)

#: Model names: lower-case letters, digits, '-' and '_' (they appear in URLs).
MODEL_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
#: The only model file format: skops (https://skops.readthedocs.io), which stores objects as a
#: JSON schema plus numpy arrays and rebuilds only types it is told to trust; it never unpickles.
MODEL_FILE_SUFFIX = ".skops"
#: Files that would be unpickled (code execution on load). Named in the start-up error.
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle", ".sav", ".dill", ".joblib.gz", ".pkl.gz")
#: Types trusted beyond skops's own defaults (scikit-learn estimators, numpy and builtin
#: containers): the Cython helpers that tree, boosting and nearest-neighbour models hold (each
#: seen in a dump of such a model with scikit-learn 1.9). A file holding any other type is
#: refused; MODEL_TRUSTED_TYPES adds names for one deployment.
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
)
REQUIRED_KEYS = ("estimator", "feature_names", "kind", "version", "description")
OPTIONAL_KEYS = ("classes", "metrics")


class ModelFileRefusedError(RuntimeError):
    """MODEL_DIR holds a file that could run code when loaded (a pickle, or a skops file with
    types nobody trusted). Start-up stops: such a file is never loaded, not even skipped over."""


class UnknownModelError(LookupError):
    def __init__(self, name: str, available: Iterable[str]) -> None:
        self.name = name
        names = ", ".join(sorted(available)) or "none"
        super().__init__(f"unknown model {name!r} (available: {names})")


def load_model_file(path: Path, trusted_types: Iterable[str] = ()) -> LoadedModel:
    """Load one `<name>.skops` file holding the documented dict.

    Raises ModelFileRefusedError when the file holds a type that is neither one of skops's
    defaults nor in TRUSTED_TYPES + `trusted_types` (nothing of it is built), and
    ModelSpecError for a file that is unreadable or whose content is not a usable model.
    """
    name = path.name.removesuffix(MODEL_FILE_SUFFIX)
    if not MODEL_NAME_RE.fullmatch(name):
        raise ModelSpecError(
            f"model name {name!r} (from the file name) must match {MODEL_NAME_RE.pattern}"
        )
    trusted = sorted({*TRUSTED_TYPES, *trusted_types})
    try:
        payload: Any = sio.load(path, trusted=trusted)
    except UntrustedTypesFoundException as exc:
        raise ModelFileRefusedError(
            f"refusing model file {path}: {exc} (trust a type only if you know it cannot run "
            "code: MODEL_TRUSTED_TYPES)"
        ) from None
    except Exception as exc:  # not a zip, no schema, a corrupt array: unreadable
        raise ModelSpecError(f"not a skops file: {type(exc).__name__}: {exc}") from exc
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


def _refuse_unsafe_files(model_dir: Path) -> None:
    """Any file but `*.skops` (and hidden entries such as a ConfigMap's `..data`) stops
    start-up: a pickle in MODEL_DIR is a mistake or an attack, never something to skip."""
    others = sorted(
        entry.name
        for entry in model_dir.iterdir()
        if not entry.name.startswith(".") and not entry.name.endswith(MODEL_FILE_SUFFIX)
    )
    if others:
        pickles = [n for n in others if n.lower().endswith(PICKLE_SUFFIXES)]
        why = (
            f"{', '.join(pickles)} would be unpickled, which can run any code"
            if pickles
            else "only <name>.skops model files are allowed"
        )
        raise ModelFileRefusedError(
            f"refusing MODEL_DIR {model_dir}: {', '.join(others)} ({why}); convert models "
            "with skops.io.dump (see services/ml-gateway/README.md)"
        )


def load_model_dir(model_dir: Path, trusted_types: Iterable[str] = ()) -> list[LoadedModel]:
    """Every `*.skops` model of a directory.

    Raises ModelFileRefusedError (start-up fails) for a file in any other format or a skops
    file with untrusted types; a skops file that is not a usable model is logged and skipped.
    """
    if not model_dir.is_dir():
        logger.error("MODEL_DIR %s is not a directory; no model files loaded", model_dir)
        return []
    _refuse_unsafe_files(model_dir)
    models = []
    for path in sorted(model_dir.glob(f"*{MODEL_FILE_SUFFIX}")):
        try:
            model = load_model_file(path, trusted_types)
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
            for model in load_model_dir(settings.MODEL_DIR, settings.MODEL_TRUSTED_TYPES):
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
