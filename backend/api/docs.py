"""/docs (Swagger UI) and /redoc with their scripts, styles and icon served by the service itself.

FastAPI's own pages load them from a CDN, which leaves a blank page on air-gapped GPU servers
and behind strict firewalls. The files come from the `fastapi-offline` package (Swagger UI 5,
which renders the OpenAPI 3.1 that FastAPI publishes, and ReDoc 2); this is FastAPI's
documented self-hosting recipe. They live under /api/ so that every proxy that forwards the API
(the nginx sites, the frontend container, vite's dev proxy) forwards them too.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from backend.api.root_path import public_url

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/api/docs-assets"
SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
REDOC_JS = "redoc.standalone.js"
FAVICON = "favicon.png"
ASSET_FILES = (SWAGGER_JS, SWAGGER_CSS, REDOC_JS, FAVICON)


def assets_dir() -> Path:
    directory = Path(str(files("fastapi_offline") / "static"))
    missing = [name for name in ASSET_FILES if not (directory / name).is_file()]
    if missing:  # a fastapi-offline release that moved its files: fail at start, not with a blank page
        raise RuntimeError(f"fastapi-offline has no {', '.join(missing)} in {directory}")
    return directory


def asset_paths() -> set[str]:
    """The request paths of the docs' files, which stay open when API keys are set (as /docs is)."""
    return {f"{ASSETS_URL}/{name}" for name in ASSET_FILES}


def install_docs(app: FastAPI) -> None:
    """Add /docs, its OAuth2 redirect page and /redoc to an app created with docs_url=None and
    redoc_url=None."""
    files = StaticFiles(directory=assets_dir())

    async def serve_file(scope: Scope, receive: Receive, send: Send) -> None:
        # A Mount names no route in the scope: without this the request metrics would count
        # these files as "unmatched", the label for paths no route has.
        scope["route"] = mount
        await files(scope, receive, send)

    mount = Mount(ASSETS_URL, app=serve_file, name="docs-assets")
    app.router.routes.append(mount)  # what app.mount() does

    # Under ROOT_PATH (or uvicorn --root-path) the page is at /prefix/docs: its files are too.
    def asset(request: Request, name: str) -> str:
        return public_url(request, f"{ASSETS_URL}/{name}")

    def openapi_url(request: Request) -> str:
        return public_url(request, app.openapi_url or "/openapi.json")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url(request),
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=public_url(request, OAUTH2_REDIRECT_URL),
            init_oauth=app.swagger_ui_init_oauth,
            swagger_js_url=asset(request, SWAGGER_JS),
            swagger_css_url=asset(request, SWAGGER_CSS),
            swagger_favicon_url=asset(request, FAVICON),
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url(request),
            title=f"{app.title} - ReDoc",
            redoc_js_url=asset(request, REDOC_JS),
            redoc_favicon_url=asset(request, FAVICON),
            with_google_fonts=False,  # fonts.googleapis.com is as unreachable as the CDN
        )
