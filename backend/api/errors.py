"""Every error leaves as JSON `{"detail", "code"}`; a 500 adds a request id and nothing internal."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.api.schemas import ErrorResponse
from backend.errors import UpscaleError, UserError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "upload_too_large",
    415: "unsupported_media_type",
}
# Server-side errors whose message is ours and safe to show (no paths, no tracebacks).
# model_load_failed names the model's file and why it did not load: the operator's file, not our internals.
_SAFE_SERVER_CODES = {
    "queue_full",
    "shutting_down",
    "out_of_memory",
    "cancelled",
    "model_load_failed",
    "job_storage_full",
}

_DESCRIPTIONS = {
    400: "Bad request (e.g. empty upload)",
    401: "API key missing or wrong",
    404: "Unknown model or job",
    409: "Job not finished, failed or cancelled",
    413: "Upload, image or output over the limits",
    415: "Not an image",
    422: "Invalid option, truncated image or malformed request",
    429: "Too many event streams open for this job; poll it instead",
    500: "Internal error (with a request id)",
    503: "Queue full, job storage full or shutting down; see Retry-After",
    507: "Out of device memory even at the smallest tile",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the given statuses; 401, 422 (our JSON shape) and 500 always apply."""
    wanted = sorted({*statuses, 401, 422, 500})
    return {status: {"model": ErrorResponse, "description": _DESCRIPTIONS.get(status, "Error")} for status in wanted}


def request_id_of(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


def error_json(
    status: int, detail: str, code: str, request_id: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorResponse(detail=detail, code=code, request_id=request_id).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers)


async def _upscale_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UpscaleError)
    headers = getattr(exc, "headers", None)
    request_id = request_id_of(request)
    if isinstance(exc, UserError) or exc.code in _SAFE_SERVER_CODES:
        return error_json(exc.status, exc.message, exc.code, request_id if exc.status >= 500 else None, headers)
    log.error("request %s failed: %s: %s", request_id, exc.code, exc.message)
    return error_json(exc.status, "internal error", exc.code, request_id, headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": list(error.get("loc", ())),
            "msg": _readable(str(error.get("msg", ""))),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors) or "invalid request"
    body = ErrorResponse(detail=summary, code="validation_error", errors=errors)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=422)


def _readable(message: str) -> str:
    # A multipart part without a filename reaches FastAPI as text, not as a file.
    if "Expected UploadFile" in message:
        return "must be a file upload with a filename, e.g. curl -F file=@photo.jpg"
    return message


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else "error"
    headers = dict(exc.headers) if exc.headers else None
    return error_json(exc.status_code, detail, code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(UpscaleError, _upscale_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Anything else is caught by RequestContextMiddleware, which answers 500 with the request id.
