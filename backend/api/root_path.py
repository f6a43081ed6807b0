"""Serving under a URL prefix (ROOT_PATH) behind a proxy that strips it.

nginx's `location /upscaler/ { proxy_pass http://127.0.0.1:8000/; }` sends `/upscaler/api/jobs`
as `/api/jobs`. Routing needs nothing, but every URL the service hands out (docs assets,
openapi.json, job links, Location) must carry the prefix again, or a client that follows it
leaves the prefix. ASGI's `root_path` says exactly that; uvicorn's `--root-path` sets it, and
`RootPath` does the same for ROOT_PATH however the app is started (`python api_server.py`
or plain `uvicorn backend.api_server:app`).

Starlette (0.36, the floor of FastAPI 0.110, to 1.x) expects `scope["path"]` to include
`root_path` and takes it off to route; uvicorn (0.27, our floor, and later) prepends it.
`RootPath` does the same, so the app sees one shape of scope whichever sets it. Our own
middleware reads paths through `route_path`. (`FastAPI(root_path=...)` is not used: it sets
`root_path` but leaves `path` without it, so `request.url` and redirects miss the prefix.)
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send


class RootPath:
    """Outermost middleware: set `root_path` and prefix `path`/`raw_path` with it, as uvicorn's
    `--root-path` does. A root_path the server already set (uvicorn `--root-path`) wins."""

    def __init__(self, app: ASGIApp, *, root_path: str) -> None:
        self.app = app
        self.root_path = root_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not scope.get("root_path"):
            scope = dict(scope)
            scope["root_path"] = self.root_path
            scope["path"] = self.root_path + scope["path"]
            if scope.get("raw_path") is not None:
                scope["raw_path"] = self.root_path.encode("ascii") + scope["raw_path"]
        await self.app(scope, receive, send)


def route_path(scope: Scope) -> str:
    """The path without the root path, as the routes are written (`/api/jobs`). Starlette has
    `get_route_path`, but in a private module whose behaviour changed between releases."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :] or "/"
    return path


def public_url(request: Request, path: str) -> str:
    """A root-relative URL for a client to follow: `path` under the root path (`/upscaler/api/...`)."""
    return request.scope.get("root_path", "").rstrip("/") + path
