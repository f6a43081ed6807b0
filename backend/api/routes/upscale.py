"""Synchronous upscaling: image bytes, base64 JSON, and a ZIP for several files."""

from __future__ import annotations

import asyncio
import base64
import json
import tempfile
import unicodedata
import zipfile
from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from backend.api.auth import require_api_key
from backend.api.deps import OptionsDep, ServiceDep, single_file
from backend.api.errors import error_responses
from backend.api.schemas import BatchItem, BatchReport, JobError, UpscaleDetails, UpscaleInfoResponse
from backend.api.uploads import content_disposition, prepare_upload, result_filename, result_headers
from backend.api.waiting import ClientGone, raise_unless_succeeded, wait_for_job
from backend.errors import UpscaleError, UserError
from backend.imaging import MEDIA_TYPES
from backend.service.core import UpscaleService
from backend.service.jobs import Job
from backend.service.pipeline import check_model_options
from backend.service.scheduler import QueueFull, ShuttingDown, Slot

router = APIRouter(prefix="/api", tags=["upscale"], dependencies=[Depends(require_api_key)])

_ERRORS = error_responses(400, 404, 413, 415, 422, 503, 507)
_RESULT_HEADERS = {
    name: {"description": text, "schema": {"type": "string"}}
    for name, text in (
        ("X-Process-Time", "Seconds spent upscaling and encoding, '%.2f'"),
        ("X-Original-Size", "Input size 'WxH'"),
        ("X-Output-Size", "Output size 'WxH'"),
        ("X-Device", "cuda, mps or cpu"),
        ("X-Model", "The model used"),
        ("X-Request-ID", "Request id"),
    )
}
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_BATCH_ROOM_WAIT_SECONDS = 600.0  # later files of a batch wait for queue room instead of failing


class TooManyFiles(UserError):
    code = "too_many_files"
    status = 413


async def _upscale_one(request: Request, service: UpscaleService, file: UploadFile, options) -> Job:  # noqa: ANN001
    # 503 before spending memory and time on the decode: the place is held while the upload is
    # read and decoded, so a burst of uploads cannot all pass while the queue still looks empty.
    with service.scheduler.reserve() as slot:
        job_input = await prepare_upload(file, options, service)
        job = service.submit(job_input, keep=False, slot=slot)
    await wait_for_job(job, request, service)
    raise_unless_succeeded(job)
    return job


@router.post(
    "/upscale",
    summary="Upscale one image; returns the image bytes",
    response_class=Response,
    dependencies=[Depends(single_file)],
    responses={
        200: {
            "description": "The upscaled image",
            "content": {media: _BINARY for media in MEDIA_TYPES.values()},
            "headers": _RESULT_HEADERS,
        },
        **_ERRORS,
    },
)
async def upscale(
    request: Request,
    service: ServiceDep,
    options: OptionsDep,
    file: Annotated[UploadFile, File(description="The image (PNG, JPEG, WebP, ...)")],
) -> Response:
    job = await _upscale_one(request, service, file, options)
    snap = job.snapshot()
    headers = result_headers(snap)
    headers["Content-Disposition"] = content_disposition(result_filename(file.filename, snap.format))
    return Response(job.result, media_type=MEDIA_TYPES[snap.format], headers=headers)


@router.post(
    "/upscale-info",
    summary="Upscale one image; returns JSON with a base64 data URL",
    response_model=UpscaleInfoResponse,
    dependencies=[Depends(single_file)],
    responses=_ERRORS,
)
async def upscale_info(
    request: Request,
    service: ServiceDep,
    options: OptionsDep,
    file: Annotated[UploadFile, File(description="The image")],
) -> UpscaleInfoResponse:
    job = await _upscale_one(request, service, file, options)
    snap = job.snapshot()
    encoded = base64.b64encode(job.result or b"").decode("ascii")
    return UpscaleInfoResponse(
        success=True,
        image=f"data:{MEDIA_TYPES[snap.format]};base64,{encoded}",
        info=UpscaleDetails(
            original_size=snap.original_size,
            output_size=snap.output_size,
            process_time=round(snap.process_seconds or 0.0, 3),
            device=snap.device or "",
            model=snap.model or "",
            format=snap.format,
        ),
    )


@router.post(
    "/upscale-batch",
    summary="Upscale several images; returns a ZIP with the results and report.json",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "ZIP: one image per file that worked, plus report.json (see BatchReport)",
            "content": {"application/zip": _BINARY},
            "headers": {
                "X-Batch-Succeeded": {"schema": {"type": "integer"}},
                "X-Batch-Failed": {"schema": {"type": "integer"}},
            },
        },
        **_ERRORS,
    },
)
async def upscale_batch(
    request: Request,
    service: ServiceDep,
    options: OptionsDep,
    files: Annotated[list[UploadFile], File(description="The images; one bad file does not fail the others")],
) -> StreamingResponse:
    settings = service.settings
    if len(files) > settings.max_batch_files:
        raise TooManyFiles(f"{len(files)} files; the limit is {settings.max_batch_files} per batch")
    # A bad model name or option fails the request, as on /api/upscale, not each file in a 200 ZIP.
    check_model_options(service.manager, settings, options)
    service.scheduler.check_room()  # 503 at once if nothing could start
    # Results are written into the ZIP as they finish, spilling to disk past 64 MB.
    spool = tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)  # noqa: SIM115 - closed by the stream
    items: list[BatchItem] = []
    used_names: set[str] = set()
    try:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as archive:
            for file in files:
                items.append(await _batch_item(request, service, file, options, archive, used_names))
            report = BatchReport(
                model=options.model or settings.default_model,
                succeeded=sum(item.ok for item in items),
                failed=sum(not item.ok for item in items),
                files=items,
            )
            archive.writestr("report.json", json.dumps(report.model_dump(), indent=2))
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)

    def stream():  # noqa: ANN202 - a sync generator runs in a thread, off the loop
        try:
            while chunk := spool.read(1024 * 1024):
                yield chunk
        finally:
            spool.close()

    headers = {
        "Content-Disposition": 'attachment; filename="upscaled.zip"',
        "Content-Length": str(size),
        "X-Batch-Succeeded": str(report.succeeded),
        "X-Batch-Failed": str(report.failed),
    }
    return StreamingResponse(stream(), media_type="application/zip", headers=headers)


async def _batch_item(
    request: Request,
    service: UpscaleService,
    file: UploadFile,
    options,  # noqa: ANN001
    archive: zipfile.ZipFile,
    used_names: set[str],
) -> BatchItem:
    name = file.filename or "image"
    try:
        with await _reserve_when_room(request, service) as slot:  # one file read and decoded at a time
            job_input = await prepare_upload(file, options, service)
            job = service.submit(job_input, keep=False, slot=slot)
        await wait_for_job(job, request, service)
        raise_unless_succeeded(job)
    except (ClientGone, ShuttingDown):
        raise  # nobody to answer, or the whole batch must stop
    except UpscaleError as exc:
        safe = isinstance(exc, UserError) or exc.code in ("queue_full", "out_of_memory", "cancelled")
        detail = exc.message if safe else "internal error"
        return BatchItem(filename=name, ok=False, error=JobError(code=exc.code, detail=detail))
    snap = job.snapshot()
    output = _unique(result_filename(name, snap.format), used_names)
    await run_in_threadpool(archive.writestr, output, job.result or b"")
    job.result = None  # it lives in the ZIP now
    return BatchItem(
        filename=name,
        ok=True,
        output=output,
        original_size=snap.original_size,
        output_size=snap.output_size,
        process_time=round(snap.process_seconds or 0.0, 3),
    )


async def _reserve_when_room(request: Request, service: UpscaleService) -> Slot:
    """A place in the queue for the next file of a batch: waited for, not refused."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _BATCH_ROOM_WAIT_SECONDS
    while True:
        try:
            return service.scheduler.reserve()
        except QueueFull:
            if loop.time() > deadline or await request.is_disconnected():
                raise
            await asyncio.sleep(0.2)


def _unique(name: str, used: set[str]) -> str:
    """`name`, or `stem_2.ext`, ... so no two members clash where the ZIP is unpacked.

    Compared case-folded (NFKC): on Windows and macOS `Photo_upscaled.png` and `photo_upscaled.png`
    are one file, so unpacking would silently keep only one of the two results.
    """
    stem, dot, ext = name.rpartition(".")
    candidate, counter = name, 1
    while _fold(candidate) in used:
        counter += 1
        candidate = f"{stem}_{counter}{dot}{ext}"
    used.add(_fold(candidate))
    return candidate


def _fold(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold()
