"""Prints the service's settings (app.core.config.Settings) as JSON, one entry per variable.

Read by the docs generator (`pnpm --filter @platform/api docs`), which renders them into
docs/configuration.md. Inspects the class only: nothing is read from the environment.
"""

from __future__ import annotations

import json
import sys
import types
import typing
from pathlib import Path

from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic_core import PydanticUndefined

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.core.config import Settings


def _env_text(value: object) -> str | None:
    """A default as it would be written in the environment."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple | list):
        return ",".join(str(item) for item in value)
    return str(value)


def _kind(annotation: object) -> tuple[str, list[str] | None]:
    """The variable's type in words, and its allowed values when they are a closed set."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _kind(args[0])
    if origin is typing.Literal:
        return "string", [str(a) for a in typing.get_args(annotation)]
    if origin is tuple or origin is list:
        return "list", None
    names = {bool: "boolean", int: "integer", float: "number", str: "string", Path: "path"}
    return names.get(annotation, "string"), None  # type: ignore[call-overload]


def settings_reference() -> list[dict[str, object]]:
    entries: list[dict[str, object]] = []
    for name, field in Settings.model_fields.items():
        kind, choices = _kind(field.annotation)
        entry: dict[str, object] = {
            "name": name,
            "kind": kind,
            "required": field.is_required(),
            "default": None if field.default is PydanticUndefined else _env_text(field.default),
            "description": field.description,
            "choices": choices,
        }
        for constraint in field.metadata:
            if isinstance(constraint, Ge):
                entry["minimum"] = constraint.ge
            elif isinstance(constraint, Le):
                entry["maximum"] = constraint.le
            elif isinstance(constraint, MinLen):
                entry["min_length"] = constraint.min_length
            elif isinstance(constraint, MaxLen):
                entry["max_length"] = constraint.max_length
        entries.append(entry)
    return entries


if __name__ == "__main__":
    json.dump(settings_reference(), sys.stdout, indent=2)
    sys.stdout.write("\n")
