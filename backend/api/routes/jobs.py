"""Asynchronous jobs with real progress: submit, poll or stream events, fetch, cancel."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from backend.api.auth import require_api_key
from backend.api.deps import OptionsDep, ServiceDep, single_file
from backend.api.errors import error_responses
from backend.api.file_response import OpenFileResponse
from backend.api.root_path import public_url
from backend.api.schemas import ErrorResponse, JobError, JobStatus
from backend.api.uploads import content_disposition, prepare_upload, result_filename, result_headers
from backend.errors import UserError
from backend.imaging import MEDIA_TYPES
from backend.service.core import UpscaleService
from backend.service.jobs import Job, JobCancelled, JobFailed, JobNotFound, JobNotReady, JobSnapshot, JobState

router = APIRouter(prefix="/api/jobs", tags=["jobs"], dependencies=[Depends(require_api_key)])

_EVENT_POLL_SECONDS = 0.1
# Each open stream wakes every _EVENT_POLL_SECONDS for as long as its job runs: a few hundred on
# one job slow every request on the event loop. A browser needs one (the frontend polls when
# refused); tabs and reconnects that overlap the old connection for a moment are covered.
MAX_STREAMS_PER_JOB = 8
_HEARTBEAT_SECONDS = 15.0


def job_status(job: Job, request: Request, service: UpscaleService, snap: JobSnapshot | None = None) -> JobStatus:
    snap = snap or job.snapshot()
    base = public_url(request, f"/api/jobs/{snap.id}")  # under ROOT_PATH, so a client can follow it
    return JobStatus(
        id=snap.id,
        state=snap.state.value,
        progress=snap.progress,
        tiles_done=snap.tiles_done,
        tiles_total=snap.tiles_total,
        eta_seconds=snap.eta_seconds,
        queue_position=service.scheduler.position(job) if snap.state is JobState.queued else None,
        created_at=snap.created_at,
        started_at=snap.started_at,
        finished_at=snap.finished_at,
        model=snap.model,
        device=snap.device,
        format=snap.format,
        original_size=snap.original_size,
        output_size=snap.output_size,
        error=JobError(code=snap.error_code, detail=snap.error_message or "") if snap.error_code else None,
        status_url=base,
        events_url=f"{base}/events",
        result_url=f"{base}/result",
    )


def _link(method: str, suffix: str, description: str) -> dict:
    # An OpenAPI link: what a client (or a generated one, or schemathesis) does next with the id.
    return {
        "operationRef": f"#/paths/~1api~1jobs~1{{job_id}}{suffix.replace('/', '~1')}/{method}",
        "parameters": {"job_id": "$response.body#/id"},
        "description": description,
    }


_JOB_LINKS = {
    "GetJob": _link("get", "", "Its state, progress and ETA"),
    "JobEvents": _link("get", "/events", "Its progress as server-sent events"),
    "JobResult": _link("get", "/result", "The image, once it succeeded"),
    "DeleteJob": _link("delete", "", "Cancel it, or delete its result"),
}


@router.post(
    "",
    status_code=202,
    response_model=JobStatus,
    summary="Queue an upscale; poll /api/jobs/{id} or stream /api/jobs/{id}/events",
    dependencies=[Depends(single_file)],
    responses={
        202: {"headers": {"Location": {"schema": {"type": "string"}}}, "links": _JOB_LINKS},
        **error_responses(400, 404, 413, 415, 422, 503),
    },
)
async def create_job(
    request: Request,
    service: ServiceDep,
    options: OptionsDep,
    file: Annotated[UploadFile, File(description="The image")],
) -> JSONResponse:
    # A place in the queue is held before the upload is read and decoded: a burst of big uploads
    # gets its 503s at once instead of all decoding while the queue still looks empty.
    with service.scheduler.reserve() as slot:
        service.store.check_room()  # fail fast, before the upload is decoded
        job_input = await prepare_upload(file, options, service)
        job = service.submit(job_input, keep=True, slot=slot)
    status = job_status(job, request, service)
    return JSONResponse(status.model_dump(), status_code=202, headers={"Location": status.status_url})


@router.get("/{job_id}", response_model=JobStatus, summary="State, progress and ETA", responses=error_responses(404))
def get_job(job_id: str, request: Request, service: ServiceDep) -> JobStatus:
    return job_status(service.get_job(job_id), request, service)


# One event of the stream (schemathesis reads an event-stream schema per event, as OpenAPI 3.2's
# itemSchema does).
_EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["progress", "done"]},
        "id": {"type": "string"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/JobStatus"},
        },
    },
    "required": ["event", "data"],
}


@router.get(
    "/{job_id}/events",
    summary="Server-Sent Events: `progress` on every change (a queued job's place too), then one `done`",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "text/event-stream: `progress` events, then one `done`; each `data:` is a JobStatus JSON",
            "content": {"text/event-stream": {"schema": _EVENT_SCHEMA}},
        },
        **error_responses(404, 429),
    },
)
async def job_events(job_id: str, request: Request, service: ServiceDep) -> StreamingResponse:
    job = service.get_job(job_id)  # 404 now, before the stream starts
    streams = _open_streams(request)
    if streams.get(job.id, 0) >= MAX_STREAMS_PER_JOB:
        raise TooManyStreams(
            f"job {job.id!r} already has {MAX_STREAMS_PER_JOB} event streams open; poll GET /api/jobs/{job.id}"
        )
    streams[job.id] = streams.get(job.id, 0) + 1

    def release() -> None:
        if streams.get(job.id, 0) <= 1:
            streams.pop(job.id, None)
        else:
            streams[job.id] -= 1

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # nginx must not buffer SSE
    return _CountedStream(
        _events(job, request, service), release=release, media_type="text/event-stream", headers=headers
    )


class TooManyStreams(UserError):
    code = "too_many_streams"
    status = 429


class _CountedStream(StreamingResponse):
    """A StreamingResponse that gives its place back however it ends (done, client gone, error)."""

    def __init__(self, content: AsyncIterator[str], *, release: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def _open_streams(request: Request) -> dict[str, int]:
    """Open event streams per job id, on the app (touched only from its event loop)."""
    streams = getattr(request.app.state, "job_event_streams", None)
    if streams is None:
        streams = request.app.state.job_event_streams = {}
    return streams


async def _events(job: Job, request: Request, service: UpscaleService) -> AsyncIterator[str]:
    seen: tuple[int, int | None] | None = None
    last_sent = time.monotonic()
    yield "retry: 1000\n\n"
    while True:
        snap = job.snapshot()
        status = job_status(job, request, service, snap)
        # A queued job's place changes without the job changing: send that too.
        if (snap.version, status.queue_position) != seen:
            seen = (snap.version, status.queue_position)
            event = "done" if snap.state.terminal else "progress"
            payload = json.dumps(status.model_dump())
            yield f"event: {event}\nid: {snap.version}\ndata: {payload}\n\n"
            last_sent = time.monotonic()
            if snap.state.terminal:
                return
        elif time.monotonic() - last_sent > _HEARTBEAT_SECONDS:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        if await request.is_disconnected():
            return
        await asyncio.sleep(_EVENT_POLL_SECONDS)


@router.get(
    "/{job_id}/result",
    summary="The finished image",
    response_class=Response,
    responses={
        200: {
            "description": "The upscaled image",
            "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES.values()},
        },
        206: {"description": "The one byte range asked for with `Range` (to resume a download), in Content-Range"},
        **error_responses(404, 409),
        416: {"model": ErrorResponse, "description": "The range starts past the end; Content-Range: bytes */size"},
    },
)
def job_result(job_id: str, request: Request, service: ServiceDep) -> Response:
    job = service.get_job(job_id)
    snap = job.snapshot()
    if snap.state is JobState.failed:
        raise JobFailed(f"the job failed: {snap.error_message}")
    if snap.state is JobState.cancelled:
        raise JobCancelled("the job was cancelled")
    if snap.state is not JobState.succeeded or job.result_path is None:
        raise JobNotReady(f"the job is {snap.state.value} ({snap.progress:.0f}%); wait for state 'succeeded'")
    # Opened here (a sync handler runs in a thread), not by the response later: a DELETE or the
    # TTL reaper may delete the file at any moment, and an open file stays readable after that.
    try:
        file = job.result_path.open("rb")
    except (FileNotFoundError, IsADirectoryError):  # deleted or expired a moment ago
        raise JobNotFound(f"the result of job {snap.id!r} has expired") from None
    try:
        stat_result = os.fstat(file.fileno())
    except BaseException:
        file.close()
        raise
    return OpenFileResponse(
        file,
        stat_result,
        media_type=MEDIA_TYPES[snap.format],
        headers={
            **result_headers(snap),
            "Content-Disposition": content_disposition(result_filename(job.input.filename, snap.format)),
        },
        request_headers=request.headers,
    )


@router.delete(
    "/{job_id}",
    response_model=JobStatus,
    summary="Cancel the job (its remaining tiles are not computed) and delete its result",
    responses=error_responses(404),
)
def delete_job(job_id: str, request: Request, service: ServiceDep) -> JobStatus:
    job = service.delete_job(job_id)
    return job_status(job, request, service)
