"""Await a job from the event loop without blocking it, and cancel it if the client leaves."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import Request

from backend.errors import Cancelled
from backend.service.core import UpscaleService
from backend.service.jobs import Job, JobState
from backend.service.scheduler import ShuttingDown

_DISCONNECT_POLL_SECONDS = 0.25


class ClientGone(Cancelled):
    """The client disconnected; its job was cancelled and nobody reads the answer."""


async def wait_for_job(job: Job, request: Request, service: UpscaleService) -> None:
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()

    def resolve() -> None:
        if not finished.done():
            finished.set_result(None)

    def on_done(_: Job) -> None:  # runs on the worker thread
        with contextlib.suppress(RuntimeError):  # the loop already closed at shutdown
            loop.call_soon_threadsafe(resolve)

    job.add_done_callback(on_done)
    try:
        while not finished.done():
            await asyncio.wait({finished}, timeout=_DISCONNECT_POLL_SECONDS)
            if not finished.done() and await request.is_disconnected():
                service.cancel(job)
                raise ClientGone("the client disconnected")
    except asyncio.CancelledError:  # server shutdown or the connection task was cancelled
        service.cancel(job)
        if service.accepting:
            raise
        # The server gave up waiting at shutdown: answer 503 JSON rather than let uvicorn send a bare 500.
        raise ShuttingDown() from None
    if job.state is JobState.cancelled and not service.accepting:
        raise ShuttingDown()  # cancelled by the shutdown, not by anyone's choice


def raise_unless_succeeded(job: Job) -> None:
    """Re-raise a failed job's error, so the client gets the same 4xx/5xx it would have synchronously."""
    if job.state is JobState.succeeded:
        return
    if job.state is JobState.failed and job.error is not None:
        raise job.error
    raise Cancelled("the job was cancelled")
