"""Small helpers shared by the tests."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sklearn.datasets import load_digits
from sklearn.naive_bayes import CategoricalNB

from app.core.config import Settings

T = TypeVar("T")

SERVICE_DIR = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = "postgresql://platform:platform@127.0.0.1:5432/platform_test_ml"


def database_url() -> str:
    """The PostgreSQL database the tests may create (and drop) schemas in."""
    return os.environ.get("ML_TEST_DATABASE_URL") or DEFAULT_DATABASE_URL


def redis_url() -> str:
    """The Redis the Celery tests use (each run on its own queue names)."""
    return (
        os.environ.get("ML_TEST_REDIS_URL")
        or os.environ.get("REDIS_URL")
        or "redis://127.0.0.1:6379/0"
    )


def make_settings(**overrides: Any) -> Settings:
    """Settings independent of the caller's environment and of any .env file."""
    values: dict[str, Any] = {
        "MODEL_DIR": None,
        "MAX_BATCH": 1000,
        "REDIS_URL": redis_url(),
        "DATABASE_URL": None,
        "CELERY_QUEUE": "ml",
        "LOG_LEVEL": "INFO",
        "DISABLE_BUILTIN_MODELS": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll `probe` until it returns something other than None/False, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def categorical_digits_payload() -> dict[str, Any]:
    """A model file's payload: naive Bayes on digit pixels taken as categories 0..16. Its
    estimator rejects negative values (ValueError) and unseen categories (IndexError), both
    finite numbers that pass the generic input checks."""
    data = load_digits()
    return {
        "estimator": CategoricalNB(min_categories=17).fit(data.data.astype(int), data.target),
        "feature_names": list(data.feature_names),
        "kind": "classifier",
        "version": "nb-1",
        "description": "digit by categorical naive Bayes over pixel intensities 0..16",
    }
