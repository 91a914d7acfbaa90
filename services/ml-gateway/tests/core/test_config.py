"""Settings come from the environment, with the documented defaults."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import Settings, configure_logging, get_settings

ENV_NAMES = (
    "MODEL_DIR",
    "MAX_BATCH",
    "REDIS_URL",
    "DATABASE_URL",
    "CELERY_QUEUE",
    "CELERY_VISIBILITY_TIMEOUT_S",
    "CELERY_RESTORE_INTERVAL_S",
    "LOG_LEVEL",
    "ACCESS_LOG",
    "DISABLE_BUILTIN_MODELS",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults(clean_env: pytest.MonkeyPatch) -> None:
    settings = Settings(_env_file=None)
    assert settings.MODEL_DIR is None
    assert settings.MAX_BATCH == 1000
    assert settings.CELERY_QUEUE == "ml"
    assert settings.CELERY_VISIBILITY_TIMEOUT_S == 3600
    assert settings.CELERY_RESTORE_INTERVAL_S == 10
    assert settings.DATABASE_URL is None
    assert settings.REDIS_URL == "redis://127.0.0.1:6379/0"
    assert settings.LOG_LEVEL == "INFO"
    assert settings.ACCESS_LOG is False
    assert settings.DISABLE_BUILTIN_MODELS is False


def test_environment(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("MODEL_DIR", str(tmp_path))
    clean_env.setenv("MAX_BATCH", "25")
    clean_env.setenv("CELERY_QUEUE", "ml-fast")
    clean_env.setenv("DATABASE_URL", "postgres://u:p@db:5432/platform")
    clean_env.setenv("log_level", "debug")
    settings = Settings(_env_file=None)
    assert tmp_path == settings.MODEL_DIR
    assert settings.MAX_BATCH == 25
    assert settings.CELERY_QUEUE == "ml-fast"
    assert settings.DATABASE_URL == "postgres://u:p@db:5432/platform"
    assert settings.LOG_LEVEL == "DEBUG"


def test_empty_optional_values_mean_unset(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MODEL_DIR", "")
    clean_env.setenv("DATABASE_URL", " ")
    settings = Settings(_env_file=None)
    assert settings.MODEL_DIR is None
    assert settings.DATABASE_URL is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_BATCH", "0"),
        ("MAX_BATCH", "lots"),
        ("LOG_LEVEL", "loud"),
        ("CELERY_QUEUE", ""),
        ("CELERY_RESTORE_INTERVAL_S", "0"),
    ],
)
def test_invalid_values_are_rejected(clean_env: pytest.MonkeyPatch, name: str, value: str) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


def test_settings_are_parsed_once() -> None:
    assert get_settings() is get_settings()


def test_uvicorn_access_log_is_off_unless_asked_for(clean_env: pytest.MonkeyPatch) -> None:
    """uvicorn writes an access line only when its access logger has a handler (what
    --no-access-log removes): configure_logging removes it unless ACCESS_LOG is set."""
    access = logging.getLogger("uvicorn.access")
    saved = (list(access.handlers), access.propagate)
    try:
        for wanted in (True, False):
            access.handlers[:] = [logging.NullHandler()]
            access.propagate = True
            clean_env.setenv("ACCESS_LOG", str(wanted).lower())
            configure_logging(Settings(_env_file=None))
            assert access.hasHandlers() is wanted
    finally:
        access.handlers[:], access.propagate = saved


def test_the_consumer_sweeps_for_stale_deliveries_every_restore_interval(
    clean_env: pytest.MonkeyPatch,
) -> None:
    from app.worker.celery_app import create_celery_app  # noqa: PLC0415 - the Celery app only here

    settings = Settings(_env_file=None, CELERY_VISIBILITY_TIMEOUT_S=30, CELERY_RESTORE_INTERVAL_S=2)
    options = create_celery_app(settings).conf.broker_transport_options
    assert options == {
        "visibility_timeout": 30,
        "unacked_restore_interval": 2,
        "unacked_restore_throttle": 1,
    }
