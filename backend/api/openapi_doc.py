"""/openapi.json as this server runs: keys declared only when API_KEYS asks for them, and the
option ranges from its own settings.

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
    maxima = {"scale": settings.max_scale, "tile": max_tile(settings)}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and parameter.get("name") in maxima:
                    parameter["schema"]["maximum"] = maxima[parameter["name"]]
    for name, component in schema.get("components", {}).get("schemas", {}).items():
        if not name.startswith("Body_"):  # the multipart forms of the upload routes
            continue
        properties = component.get("properties", {})
        for field, maximum in maxima.items():
            if field in properties:
                properties[field]["maximum"] = maximum
        if "files" in properties:
            properties["files"].update(minItems=1, maxItems=settings.max_batch_files)


def _drop_key_schemes(schema: Schema) -> None:
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            operation.pop("security", None)
    schemes = schema.get("components", {}).get("securitySchemes", {})
    for name in _KEY_SCHEMES:
        schemes.pop(name, None)
    if "components" in schema and not schemes:
        schema["components"].pop("securitySchemes", None)
