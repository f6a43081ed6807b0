"""Optional API keys: when settings.api_keys is set, every /api route except health needs one.

A key comes as `X-API-Key: <key>` or `Authorization: Bearer <key>`.
"""

from __future__ import annotations

import hmac

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

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
    # Compare against every key in constant time, so timing reveals neither key nor match.
    matches = [hmac.compare_digest(key.encode(), known.encode()) for known in keys]
    return any(matches)


async def require_api_key(
    request: Request,
    _header_key: str | None = Security(api_key_header),
    _bearer: HTTPAuthorizationCredentials | None = Security(bearer),
) -> None:
    keys: list[str] = request.app.state.settings.api_keys
    if not keys:
        return
    key = presented_key(request)
    if key is None:
        raise Unauthorized("an API key is required: send X-API-Key or Authorization: Bearer")
    if not key_is_valid(key, keys):
        raise Unauthorized("the API key is not valid")
