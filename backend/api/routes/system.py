"""Health (liveness and readiness), server info, the model list and ONNX downloads."""

from __future__ import annotations

import asyncio
import platform
from importlib import metadata
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from backend.api.auth import require_api_key
from backend.api.deps import MODEL_NAME_SCHEMA, ServiceDep
from backend.api.errors import error_responses
from backend.api.schemas import (
    Device,
    DeviceDetail,
    Health,
    Info,
    Limits,
    ModelInfo,
    ModelList,
    ModelsSummary,
    QueueInfo,
)
from backend.errors import UpscaleError
from backend.service.core import UpscaleService
from backend.service.options import FORMATS, MIN_SCALE, QUALITY_RANGE, max_tile
from backend.service.pipeline import resolve_model

public = APIRouter(prefix="/api", tags=["health"])
router = APIRouter(prefix="/api", tags=["info"], dependencies=[Depends(require_api_key)])


class OnnxUnavailable(UpscaleError):
    code = "onnx_unavailable"
    status = 501


def _health(service: UpscaleService) -> Health:
    readiness = service.readiness
    return Health(
        status=readiness.status,
        model_loaded=readiness.ready,
        device=Device(**service.manager.device.as_dict()),
        model=service.settings.default_model,
        replica=service.replica,
        error=readiness.error,
    )


@public.get("/health", response_model=Health, summary="Status, readiness and device (always 200)")
def health(service: ServiceDep) -> Health:
    return _health(service)


@public.get("/health/live", summary="Liveness: the process answers", responses={200: {"description": "Alive"}})
def live() -> dict[str, str]:
    return {"status": "alive"}


@public.get(
    "/health/ready",
    response_model=Health,
    summary="Readiness: 200 once the default model is warm, else 503",
    responses={503: {"model": Health, "description": "Loading, unhealthy or shutting down"}},
)
def ready(service: ServiceDep) -> Response:
    body = _health(service)
    ok = body.model_loaded and service.scheduler.accepting
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


def _version(package: str, default: str = "unknown") -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return default


@router.get("/info", response_model=Info, summary="Device, models, limits and versions", responses=error_responses())
def info(service: ServiceDep) -> Info:
    settings = service.settings
    device = service.manager.device
    try:
        memory = device.memory()
    except Exception:  # never fail /info over a driver query
        memory = None
    scheduler = service.scheduler
    return Info(
        device=DeviceDetail(**device.as_dict(), index=device.index, memory=memory),
        models=ModelsSummary(
            default=settings.default_model,
            loaded=list(service.manager.loaded_names()),
            available=[entry.name for entry in service.manager.list_models()],
            compiled=service.manager.compiled_names(),
        ),
        limits=Limits(
            max_upload_mb=settings.max_upload_mb,
            max_input_pixels=settings.max_input_pixels,
            max_output_pixels=settings.max_output_pixels,
            min_scale=MIN_SCALE,
            max_scale=settings.max_scale,
            max_batch_files=settings.max_batch_files,
            formats=list(FORMATS),
            quality=QUALITY_RANGE,
            tile=(settings.min_tile, max_tile(settings)),
            default_tile=settings.tile,
        ),
        queue=QueueInfo(
            capacity=scheduler.capacity, depth=scheduler.depth, running=scheduler.running, workers=scheduler.workers
        ),
        versions={
            "app": _version("inpaint-web-upscaler", default="0.1.0"),  # not pip-installed in a checkout
            "python": platform.python_version(),
            "torch": device.torch_version,
            "spandrel": _version("spandrel"),
            "fastapi": _version("fastapi"),
            "numpy": _version("numpy"),
            "pillow": _version("pillow"),
        },
        replica=service.replica,
    )


@router.get("/models", response_model=ModelList, summary="Available models", responses=error_responses())
def models(service: ServiceDep) -> ModelList:
    loaded = set(service.manager.loaded_names())
    default = service.settings.default_model
    return ModelList(
        default=default,
        models=[
            ModelInfo(
                name=entry.name,
                scale=entry.scale,
                arch=entry.arch,
                source=entry.source,
                loaded=entry.name in loaded,
                default=entry.name == default,
                description=entry.spec.description if entry.spec else "custom weights",
                supports_denoise=bool(entry.spec and entry.spec.denoise_partner),
            )
            for entry in service.manager.list_models()
        ],
    )


@router.get(
    "/models/{name}/onnx",
    response_class=FileResponse,
    summary="The model as ONNX (fp32, dynamic H/W) for onnxruntime-web",
    responses={
        200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
        304: {"description": "Not modified (If-None-Match)"},
        501: {"description": "ONNX export is not installed on this server"},
        **error_responses(404, 422),
    },
)
async def model_onnx(
    name: Annotated[str, Path(json_schema_extra=MODEL_NAME_SCHEMA)], request: Request, service: ServiceDep
) -> Response:
    entry = resolve_model(service.manager, service.settings, name)  # 422 / 404 before any work
    try:
        from backend.models.onnx_export import cached_onnx, export_onnx
    except ImportError as exc:
        raise OnnxUnavailable("ONNX export needs the `onnx` package on the server") from exc
    path = await run_in_threadpool(cached_onnx, service.manager, entry.name)
    if path is None:
        # One export at a time, whichever the model (each costs a model's load, a copy and a
        # trace: seconds of CPU and a GB of memory for x4plus), and the requests that wait do so
        # here, on the event loop: waiting in worker threads, a few dozen of them would take every
        # thread that sync routes (health included) and upload decoding need.
        async with _export_gate(request):
            path = await run_in_threadpool(export_onnx, service.manager, entry.name)
    stat = path.stat()
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    headers = {"Cache-Control": "public, max-age=86400", "ETag": etag}
    if etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type="application/octet-stream", filename=f"{entry.name}.onnx", headers=headers)


def _export_gate(request: Request) -> asyncio.Semaphore:
    gate = getattr(request.app.state, "onnx_export_gate", None)
    if gate is None:  # made on first use, on the app's own event loop; no await since the check
        gate = request.app.state.onnx_export_gate = asyncio.Semaphore(1)
    return gate


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
