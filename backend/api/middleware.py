"""Per-request plumbing, as plain ASGI so it never buffers or breaks streaming responses.

- a request id (taken from `X-Request-ID` when sane, else new), echoed in the response;
- a body-size cap, enforced from Content-Length and while the body streams in (the excess is
  read and dropped up to a bound first, so a proxy still sending gets our 413, not a reset);
- request count and latency metrics, labelled by route template;
- a last-resort 500 with the request id, so no traceback ever reaches the client.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.metrics import Metrics
from backend.api.root_path import route_path

log = logging.getLogger(__name__)

_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")  # fullmatch: `$` lets a trailing "\n" through
BodyLimit = Callable[[str], int | None]  # path -> max body bytes (None = no limit)
# How much of an over-limit body is read and dropped before the 413. Closing a socket with
# unread data resets it, and nginx, still sending, then shows its client a 502 instead of
# our 413; nginx's own client_max_body_size (64m) refuses anything much bigger itself.
_DRAIN_PAST_LIMIT_BYTES = 64 * 1024 * 1024


async def _drain(receive: Receive, budget: int) -> None:
    """Read and drop the rest of the request body, up to `budget` bytes."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


ORIGINAL_METHOD = "original_method"  # scope["state"] key: the method before HeadAsGet rewrote it


def _route_templates(app: object) -> list[tuple[re.Pattern[str], str]]:
    """(regex, template) for every route of the app: its own routes, and every path in its OpenAPI
    schema (FastAPI keeps included routers' routes out of `app.routes` in some versions)."""
    templates: list[tuple[re.Pattern[str], str]] = []
    for route in getattr(app, "routes", ()):
        path, regex = getattr(route, "path", None), getattr(route, "path_regex", None)
        if isinstance(path, str) and isinstance(regex, re.Pattern):
            templates.append((regex, path))
    try:
        paths = app.openapi().get("paths", {})  # type: ignore[attr-defined]
    except Exception:
        log.exception("could not list the app's routes for the metrics")
        paths = {}
    known = {path for _, path in templates}
    templates += [(compile_path(path)[0], path) for path in paths if path not in known]
    return templates


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, body_limit: BodyLimit) -> None:
        self.app = app
        self.metrics = metrics
        self.body_limit = body_limit
        self._templates: list[tuple[re.Pattern[str], str]] | None = None

    def _template_for(self, scope: Scope) -> str:
        """The route template for a request answered before routing; "unmatched" for a path no
        route has, so made-up paths never start new label values."""
        if self._templates is None:
            self._templates = _route_templates(scope.get("app"))
        path = route_path(scope)
        return next((template for regex, template in self._templates if regex.match(path)), "unmatched")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID_RE.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False
        too_large = False
        answered_early = False
        # By the route's path, so /api/upscale-batch keeps its limit under a ROOT_PATH too.
        limit = self.body_limit(route_path(scope)) if scope["method"] in ("POST", "PUT", "PATCH") else None

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                if too_large:  # the handler saw a cut-off body; say why instead
                    await self._send_error(
                        send, 413, "the request body is over the upload limit", "upload_too_large", request_id
                    )
                    response_started = True
                    status = 413
                    return
                status = message["status"]
                response_started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            elif too_large:
                return
            await send(message)

        received = 0

        async def receive_capped() -> Message:
            nonlocal received, too_large
            message = await receive()
            if limit is not None and message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    if message.get("more_body", False):
                        await _drain(receive, _DRAIN_PAST_LIMIT_BYTES)
                    return {"type": "http.disconnect"}
            return message

        try:
            declared = int(headers.get("content-length", "0") or 0)
        except ValueError:
            declared = 0
        try:
            if limit is not None and declared > limit:
                status = 413
                answered_early = True
                # Not with `Expect: 100-continue`: reading would invite the client to send it all.
                if declared - limit <= _DRAIN_PAST_LIMIT_BYTES and "100-continue" not in headers.get("expect", ""):
                    await _drain(receive, declared)
                await self._send_error(
                    send,
                    413,
                    f"the request body is {declared} bytes; the limit is {limit}",
                    "upload_too_large",
                    request_id,
                )
                return
            await self.app(scope, receive_capped, send_with_id)
        except Exception:
            log.exception("unhandled error in request %s %s (id %s)", scope["method"], scope["path"], request_id)
            if not response_started:
                status = 500
                await self._send_error(send, 500, "internal error", "internal_error", request_id)
        finally:
            route = scope.get("route")
            if route is None and answered_early:  # the router never ran: find the route it would take
                template = self._template_for(scope)
            else:
                template = getattr(route, "path", None) or "unmatched"
            # HeadAsGet runs a HEAD as GET; the metrics say what the client sent.
            method = scope.get("state", {}).get(ORIGINAL_METHOD) or scope["method"]
            self.metrics.observe_request(method, template, status, time.perf_counter() - started)

    @staticmethod
    async def _send_error(send: Send, status: int, detail: str, code: str, request_id: str) -> None:
        body = {"detail": detail, "code": code}
        if status >= 500:
            body["request_id"] = request_id
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"x-request-id", request_id.encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


class HeadAsGet:
    """HEAD wherever GET works (RFC 9110): load balancers and uptime monitors probe health
    with HEAD, and FastAPI routes only answer the methods they declare. The GET runs and
    its body is dropped; an event stream is left out, since it would never end."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or scope["path"].endswith("/events"):
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        state = {**scope.get("state", {}), ORIGINAL_METHOD: "HEAD"}
        await self.app({**scope, "method": "GET", "state": state}, receive, send_headers_only)


class JsonCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered as JSON `{detail, code}` like every other error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        kept = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
        detail = f"{bytes(response.body).decode()}: see CORS_ORIGINS"
        return JSONResponse({"detail": detail, "code": "cors_rejected"}, status_code=response.status_code, headers=kept)
