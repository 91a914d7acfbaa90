"""The settings reference the docs are generated from (scripts/settings_reference.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.core.config import Settings

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "settings_reference.py"


def _reference(
    env: dict[str, str] | None = None, cwd: Path | None = None
) -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, str(SCRIPT)], check=True, capture_output=True, text=True, env=env, cwd=cwd
    ).stdout
    entries = json.loads(out)
    assert isinstance(entries, list)
    return entries


def test_every_setting_is_listed_with_its_description() -> None:
    entries = _reference()
    assert [e["name"] for e in entries] == list(Settings.model_fields)
    for entry in entries:
        assert isinstance(entry["description"], str), entry["name"]
        assert entry["description"], entry["name"]


def test_defaults_constraints_and_choices_come_from_the_class() -> None:
    by_name = {e["name"]: e for e in _reference()}
    assert (by_name["MAX_BATCH"]["default"], by_name["MAX_BATCH"]["kind"]) == ("1000", "integer")
    assert (by_name["MAX_BATCH"]["minimum"], by_name["MAX_BATCH"]["maximum"]) == (1, 100_000)
    assert by_name["BATCH_MAX_DELAY_MS"]["default"] == "2"
    assert by_name["BATCHING_ENABLED"]["default"] == "true"
    assert by_name["MODEL_DIR"]["default"] is None
    assert by_name["MODEL_TRUSTED_TYPES"]["default"] == ""
    assert by_name["LOG_LEVEL"]["choices"] == ["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"]


def test_the_environment_does_not_change_the_reference(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "MAX_BATCH": "7", "LOG_LEVEL": "debug"}
    (tmp_path / ".env").write_text("MAX_BATCH_ITEMS=3\n")
    by_name = {e["name"]: e for e in _reference(env, cwd=tmp_path)}
    assert by_name["MAX_BATCH"]["default"] == "1000"
    assert by_name["MAX_BATCH_ITEMS"]["default"] == "256"
    assert by_name["LOG_LEVEL"]["default"] == "INFO"
