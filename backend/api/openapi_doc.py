"""/openapi.json as this server runs: keys declared only when API_KEYS asks for them, the option
ranges from its own settings, and no `null` where a query string or a form cannot carry one.

FastAPI builds the document from the routes alone, so it declared the key schemes on every
keyed route even with API_KEYS empty (a generated client then demanded a key the server never
checks), and it could not know MAX_SCALE, the largest tile or MAX_BATCH_FILES. The values that
never change (format names, the model name pattern) are declared on the parameters in deps.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from backend.service.options import max_tile
from backend.settings import Settings

Schema = dict[str, Any]
_KEY_SCHEMES = ("APIKeyHeader", "HTTPBearer")  # auth.py's api_key_header and bearer


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Wrap app.openapi so that its first (cached) result is adjusted to `settings`."""
    build: Callable[[], Schema] = app.openapi

    def openapi() -> Schema:
        if app.openapi_schema is None:
            schema = build()  # FastAPI caches this very dict: adjusted once, served from then on
            describe_settings(schema, settings)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def describe_settings(schema: Schema, settings: Settings) -> None:
    if not settings.api_keys:
        _drop_key_schemes(schema)
    ranges: dict[str, Callable[[Schema], None]] = {
        "scale": lambda field: field.update(maximum=settings.max_scale),
        "tile": lambda field: _tile_range(field, settings),
    }
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "query":
                    continue
                if parameter.get("name") in ranges:
                    ranges[parameter["name"]](parameter["schema"])
                _not_nullable(parameter["schema"])
    for name, component in schema.get("components", {}).get("schemas", {}).items():
        if not name.startswith("Body_"):  # the multipart forms of the upload routes
            continue
        component["additionalProperties"] = False  # deps.reject_unknown: 422 unknown_field
        properties = component.get("properties", {})
        for field, describe in ranges.items():
            if field in properties:
                describe(properties[field])
        for field in properties.values():
            _not_nullable(field)
        if "files" in properties:
            properties["files"].update(minItems=1, maxItems=settings.max_batch_files)


def _not_nullable(field: Schema) -> None:
    """Drop the `null` that `float | None = None` declares: a query string or a form has no null,
    an option is simply left out (a client that sent the text `null` would get a 422)."""
    branches = [branch for branch in field.get("anyOf", []) if branch != {"type": "null"}]
    if len(branches) == len(field.get("anyOf", [])):
        return
    if len(branches) == 1:
        del field["anyOf"]
        field.update(branches[0])
    else:
        field["anyOf"] = branches


def _tile_range(field: Schema, settings: Settings) -> None:
    """0 (no tiling) or MIN_TILE..the largest useful tile: two ranges, so `anyOf`."""
    field.pop("minimum", None)
    field["anyOf"] = [
        {"type": "integer", "const": 0},
        {"type": "integer", "minimum": settings.min_tile, "maximum": max_tile(settings)},
    ]


def _drop_key_schemes(schema: Schema) -> None:
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            operation.pop("security", None)
    schemes = schema.get("components", {}).get("securitySchemes", {})
    for name in _KEY_SCHEMES:
        schemes.pop(name, None)
    if "components" in schema and not schemes:
        schema["components"].pop("securitySchemes", None)
