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

    # Each setting's meaning is its Field description: docs/configuration.md is generated from
    # them (scripts/settings_reference.py, run by `pnpm --filter @platform/api docs`).
    MODEL_DIR: Annotated[
        Path | None,
        Field(
            description="Directory of extra `<name>.skops` model files loaded at start-up "
            "([model files](../services/ml-gateway/README.md#model-files-model_dir))"
        ),
    ] = None
    MODEL_TRUSTED_TYPES: Annotated[
        tuple[str, ...],
        NoDecode,
        Field(
            description="Extra types (comma-separated dotted names) a model file may hold, "
            "beyond skops's defaults and `app.ml.registry.TRUSTED_TYPES`"
        ),
    ] = ()
    MAX_BATCH: Annotated[
        int,
        Field(
            ge=1,
            le=100_000,
            description="Most instances accepted by one prediction request or task (or one item "
            "of a batch)",
        ),
    ] = 1000
    MAX_BATCH_ITEMS: Annotated[
        int,
        Field(
            ge=1,
            le=10_000,
            description="Most items (predictions) in one `POST /v1/predictions/batch`",
        ),
    ] = 256
    BATCHING_ENABLED: Annotated[
        bool,
        Field(
            description="Gather concurrent HTTP prediction requests for the same model into one "
            "model call"
        ),
    ] = True
    BATCH_ADAPTIVE: Annotated[
        bool,
        Field(
            description="Adaptive batching: a batch closes as soon as its model is free and "
            "two event-loop turns in a row brought no more requests (no timer), so a lone "
            "request goes at once and requests that arrive while a call runs go together in "
            "the next one. `false`: a batch waits up to `BATCH_MAX_DELAY_MS` for companions"
        ),
    ] = True
    BATCH_MAX_DELAY_MS: Annotated[
        float,
        Field(
            ge=0,
            le=60_000,
            description="With `BATCH_ADAPTIVE=false`: longest a request waits in its model's "
            "queue for others to join its batch, counted from when it was queued (`0`: take "
            "only what is already queued)",
        ),
    ] = 2.0
    MODEL_INLINE_MAX_MS: Annotated[
        float,
        Field(
            ge=0,
            le=1_000,
            description="Model calls of a model whose calls have averaged at most this much "
            "CPU time run on the event loop thread (no thread hand-off); slower models, and "
            "each model until its first call was measured, run in a worker thread (`0`: always "
            "a worker thread)",
        ),
    ] = 1.0
    BATCH_MAX_SIZE: Annotated[
        int,
        Field(
            ge=1,
            le=100_000,
            description="Most instances in one batched model call (requests are not split; a "
            "larger one runs alone)",
        ),
    ] = 256
    REDIS_URL: Annotated[str, Field(description="Celery broker and result backend")] = (
        "redis://127.0.0.1:6379/0"
    )
    DATABASE_URL: Annotated[
        str | None,
        Field(
            description="The platform database (runtime role) the Python `ml.predict` consumer "
            "writes prediction outcomes to; unset or empty: no database writes"
        ),
    ] = None
    CELERY_QUEUE: Annotated[
        str,
        Field(
            min_length=1,
            description="Queue the Python consumer consumes and `ml.predict` is routed to by "
            "default",
        ),
    ] = "ml"
    CELERY_VISIBILITY_TIMEOUT_S: Annotated[
        int,
        Field(
            ge=1,
            description="Seconds before an unacknowledged delivery is given to another consumer "
            "(kombu's visibility timeout; the TypeScript worker's `VISIBILITY_TIMEOUT_S` is the "
            "same setting)",
        ),
    ] = 3600
    CELERY_RESTORE_INTERVAL_S: Annotated[
        int,
        Field(
            ge=1,
            description="Seconds between the Python consumer's sweeps that put back deliveries "
            "older than the visibility timeout, whoever held them (kombu's "
            "`unacked_restore_interval`, with `unacked_restore_throttle` 1: kombu's defaults "
            "sweep every 100 s)",
        ),
    ] = 10
    LOG_LEVEL: Annotated[
        LogLevel, Field(description="Level of the service's own logs (any case)")
    ] = "INFO"
    ACCESS_LOG: Annotated[
        bool,
        Field(
            description="uvicorn's access log, one line per HTTP request. Off by default: "
            "requests are counted and timed in `/metrics`, and at thousands of requests per "
            "second the line costs more CPU than a batched prediction"
        ),
    ] = False
    DISABLE_BUILTIN_MODELS: Annotated[
        bool,
        Field(description="Skip training the built-in models (only `MODEL_DIR` files are served)"),
    ] = False

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
