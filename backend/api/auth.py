"""Optional API keys: when settings.api_keys is set, every /api route except health needs one.

A key comes as `X-API-Key: <key>` or `Authorization: Bearer <key>`. `ApiKeyGate` checks it
before anything reads the body; the route dependency repeats the check and shows the
schemes in /docs.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.api.errors import error_json
from backend.api.root_path import route_path
from backend.errors import UserError

# Declared only so that /docs shows the schemes and its "Authorize" button works.
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="One of API_KEYS")
bearer = HTTPBearer(auto_error=False, description="One of API_KEYS, as a bearer token")


class Unauthorized(UserError):
    code = "unauthorized"
    status = 401

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.headers = {"WWW-Authenticate": 'Bearer, ApiKey header="X-API-Key"'}


def presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def key_is_valid(key: str, keys: list[str]) -> bool:
    # Compare against every key in constant time, so timing reveals neither key nor match. The
    # digests have one length: compare_digest on the keys themselves returns at once on a length
    # mismatch, which tells a caller how long the keys are.
    presented = hashlib.sha256(key.encode()).digest()
    matches = [hmac.compare_digest(presented, hashlib.sha256(known.encode()).digest()) for known in keys]
    return any(matches)


def check_api_key(request: Request, keys: list[str]) -> None:
    if not keys:
        return
    key = presented_key(request)
    if key is None:
        raise Unauthorized("an API key is required: send X-API-Key or Authorization: Bearer")
    if not key_is_valid(key, keys):
        raise Unauthorized("the API key is not valid")


async def require_api_key(
    request: Request,
    _header_key: str | None = Security(api_key_header),
    _bearer: HTTPAuthorizationCredentials | None = Security(bearer),
) -> None:
    check_api_key(request, request.app.state.settings.api_keys)


class ApiKeyGate:
    """Answer 401 before the body is read. FastAPI parses a form before it runs a route's
    dependencies, so without this a caller with no key could make the server spool
    uploads (up to a gigabyte per batch) to disk before being refused."""

    def __init__(self, app: ASGIApp, *, keys: list[str], open_paths: Collection[str]) -> None:
        self.app = app
        self.keys = keys
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.keys and self._guarded(route_path(scope)):
            try:
                check_api_key(Request(scope), self.keys)
            except Unauthorized as exc:
                await error_json(exc.status, exc.message, exc.code, headers=exc.headers)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _guarded(self, path: str) -> bool:
        return path.startswith("/api/") and path.rstrip("/") not in self.open_paths
