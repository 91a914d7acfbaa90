"""Service settings, read once from the environment (and an optional `.env` file)."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LogLevel = Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"]


class Settings(BaseSettings):
    """Configuration of the API and the Celery worker.

    Environment variable names are the upper-case field names (MODEL_DIR, MAX_BATCH, ...).
    """

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=False,
        extra="ignore",
        frozen=True,
    )

    #: Directory with extra `<name>.skops` model files loaded at start-up (optional).
    MODEL_DIR: Path | None = None
    #: Extra types (dotted names, comma-separated in the environment) a skops model file may
    #: hold, beyond skops's defaults and app.ml.registry.TRUSTED_TYPES.
    MODEL_TRUSTED_TYPES: Annotated[tuple[str, ...], NoDecode] = ()
    #: Most instances accepted by one prediction request or task (or one item of a batch).
    MAX_BATCH: Annotated[int, Field(ge=1, le=100_000)] = 1000
    #: Most items (predictions) in one `POST /v1/predictions/batch`.
    MAX_BATCH_ITEMS: Annotated[int, Field(ge=1, le=10_000)] = 256
    #: Gather concurrent HTTP prediction requests for the same model into one model call.
    BATCHING_ENABLED: bool = True
    #: Longest a request waits in its model's queue for others to join its batch, counted
    #: from when it was queued (0 = take only what is already queued).
    BATCH_MAX_DELAY_MS: Annotated[float, Field(ge=0, le=60_000)] = 2.0
    #: Most instances in one batched model call (requests are not split; a larger one runs
    #: alone).
    BATCH_MAX_SIZE: Annotated[int, Field(ge=1, le=100_000)] = 256
    #: Celery broker and result backend.
    REDIS_URL: str = "redis://127.0.0.1:6379/0"
    #: PostgreSQL URL the worker writes prediction outcomes to; unset = no database writes.
    DATABASE_URL: str | None = None
    #: Queue the worker consumes and `ml.predict` is routed to by default.
    CELERY_QUEUE: Annotated[str, Field(min_length=1)] = "ml"
    #: Seconds before an unacknowledged delivery is given to another consumer (kombu's
    #: visibility timeout; the TypeScript worker's VISIBILITY_TIMEOUT_S is the same setting).
    CELERY_VISIBILITY_TIMEOUT_S: Annotated[int, Field(ge=1)] = 3600
    LOG_LEVEL: LogLevel = "INFO"
    #: uvicorn's access log (one line per HTTP request). Off by default: requests are counted
    #: and timed in /metrics, and at thousands of requests per second the line costs more CPU
    #: than a batched prediction.
    ACCESS_LOG: bool = False
    #: Skip training the built-in models (only MODEL_DIR files are served).
    DISABLE_BUILTIN_MODELS: bool = False

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("MODEL_TRUSTED_TYPES", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("MODEL_DIR", "DATABASE_URL", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, parsed on first use."""
    return Settings()


def configure_logging(settings: Settings) -> None:
    """Send the service's logs (logger "app") to stderr at LOG_LEVEL.

    Adds a stderr handler to the root logger only when nothing configured one yet, so
    uvicorn, Celery or pytest keep their own handlers.
    """
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("app").setLevel(settings.LOG_LEVEL)
    if not settings.ACCESS_LOG:
        # What uvicorn's --no-access-log does: its protocol skips building the line at all
        # when the access logger has no handler.
        access = logging.getLogger("uvicorn.access")
        access.handlers.clear()
        access.propagate = False
