"""Shared fixtures: settings, one trained registry per session, HTTP clients, and the real
PostgreSQL / Redis endpoints the integration tests use.

Environment:
  ML_TEST_DATABASE_URL  PostgreSQL database the tests may create schemas in
                        (default postgresql://platform:platform@127.0.0.1:5432/platform_test_ml)
  ML_TEST_REDIS_URL     Redis for the Celery tests (default $REDIS_URL, else
                        redis://127.0.0.1:6379/0); every run uses its own queue name
  ML_TEST_RESULTS_FILE  if set, a JSON summary {numPassedTests, ...} is written there
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from app.ml.registry import ModelRegistry
from tests.helpers import make_settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    return make_settings()


@pytest.fixture(scope="session")
def registry(settings: Settings) -> ModelRegistry:
    """The built-in models, trained once for the whole session."""
    return ModelRegistry.from_settings(settings)


@pytest.fixture
def client(settings: Settings, registry: ModelRegistry) -> Iterator[TestClient]:
    with TestClient(create_app(settings, registry)) as test_client:
        yield test_client


@pytest.fixture
def make_client(
    registry: ModelRegistry,
) -> Iterator[Callable[..., TestClient]]:
    """A client for an app with other settings (and the shared registry unless given)."""
    clients: list[TestClient] = []

    def factory(registry_override: ModelRegistry | None = None, **overrides: Any) -> TestClient:
        chosen = registry if registry_override is None else registry_override
        app = create_app(make_settings(**overrides), chosen)
        test_client = TestClient(app)
        test_client.__enter__()
        clients.append(test_client)
        return test_client

    yield factory
    for test_client in clients:
        test_client.__exit__(None, None, None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the repository's per-suite result summary (read by /scripts/test.sh)."""
    target = os.environ.get("ML_TEST_RESULTS_FILE")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not target or reporter is None:
        return
    stats: dict[str, list[Any]] = reporter.stats

    def count(*keys: str) -> int:
        return sum(
            1
            for key in keys
            for report in stats.get(key, [])
            if getattr(report, "when", "call") in ("call", "setup", "teardown")
        )

    summary = {
        "numPassedTests": count("passed"),
        "numFailedTests": count("failed", "error"),
        "numPendingTests": count("skipped", "xfailed"),
        "numTodoTests": 0,
        "exitStatus": exitstatus,
    }
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary) + "\n", encoding="utf-8")
