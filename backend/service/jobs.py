"""One unit of work and its observable state: queued -> running -> succeeded | failed | cancelled.

A `Job` is written by one worker thread and read by request handlers; every change happens
under its lock and bumps `version`, which is what the SSE stream watches.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.errors import UpscaleError, UserError
from backend.imaging.png_color import PngColor
from backend.service.options import UpscaleOptions


class JobState(str, enum.Enum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (JobState.succeeded, JobState.failed, JobState.cancelled)


class JobNotFound(UserError):
    code = "job_not_found"
    status = 404


class JobNotReady(UserError):
    code = "job_not_ready"
    status = 409


class JobFailed(UserError):
    code = "job_failed"
    status = 409


class JobCancelled(UserError):
    code = "job_cancelled"
    status = 409


@dataclass
class JobInput:
    """A decoded image and what to do with it; dropped once the job has run."""

    pixels: np.ndarray | None
    options: UpscaleOptions
    original_size: tuple[int, int]
    output_size: tuple[int, int]
    icc_profile: bytes | None = None
    png_color: PngColor | None = None  # a PNG source's gAMA/cHRM/sRGB, for the result
    is_gray: bool = False
    filename: str = "image"


@dataclass(frozen=True)
class JobSnapshot:
    id: str
    state: JobState
    progress: float
    tiles_done: int
    tiles_total: int
    eta_seconds: float | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    model: str | None
    device: str | None
    format: str
    original_size: tuple[int, int]
    output_size: tuple[int, int]
    error_code: str | None
    error_message: str | None
    version: int

    @property
    def process_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass(eq=False)  # identity semantics: jobs live in sets and deques
class Job:
    id: str
    input: JobInput
    persist: bool  # True: result goes to jobs_dir (jobs API); False: kept in memory (sync request)
    created_at: float = field(default_factory=time.time)
    state: JobState = JobState.queued
    started_at: float | None = None
    finished_at: float | None = None
    tiles_done: int = 0
    tiles_total: int = 0
    progress: float = 0.0
    run_clock: float | None = None  # monotonic time the worker started, for the ETA
    first_tile_at: float | None = None  # monotonic time of the first progress report
    first_tiles_done: int = 0
    model: str | None = None
    device: str | None = None
    error: UpscaleError | None = None  # what to re-raise to a waiting client
    error_code: str | None = None
    error_message: str | None = None
    result: bytes | None = None
    result_path: Path | None = None
    version: int = 0
    cancel_event: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _done_callbacks: list[Callable[[Job], None]] = field(default_factory=list, repr=False)

    # --- written by the worker ---

    def mark_running(self) -> bool:
        """False if the job was cancelled while it waited."""
        with self._lock:
            if self.state is not JobState.queued:
                return False
            self.state = JobState.running
            self.started_at = time.time()
            self.run_clock = time.monotonic()
            self.version += 1
            return True

    def set_model(self, model: str, device: str) -> None:
        with self._lock:
            self.model, self.device = model, device
            self.version += 1

    def report_tiles(self, done: int, total: int) -> None:
        """The engine's progress callback. Percent never goes down, even if an OOM step-down adds tiles."""
        with self._lock:
            if self.first_tile_at is None and done > 0:  # (0, total) only announces the total
                self.first_tile_at, self.first_tiles_done = time.monotonic(), done
            self.tiles_done, self.tiles_total = done, max(total, 1)
            self.progress = max(self.progress, min(100.0, 100.0 * done / self.tiles_total))
            self.version += 1

    def succeed(self, result: bytes | None, result_path: Path | None, device: str | None) -> None:
        self._finish(JobState.succeeded, result=result, result_path=result_path, device=device)

    def fail(self, error: UpscaleError, code: str, message: str) -> None:
        self._finish(JobState.failed, error=error, error_code=code, error_message=message)

    def mark_cancelled(self) -> None:
        self._finish(JobState.cancelled, error_code="cancelled", error_message="the job was cancelled")

    def _finish(self, state: JobState, **values: object) -> None:
        with self._lock:
            if self.state.terminal:
                return
            self.state = state
            self.finished_at = time.time()
            if state is JobState.succeeded:
                self.progress = 100.0
            for name, value in values.items():
                setattr(self, name, value)
            self.input.pixels = None  # free the decoded image as soon as possible
            self.version += 1
            callbacks, self._done_callbacks = self._done_callbacks, []
        for callback in callbacks:
            callback(self)

    # --- read by anyone ---

    def request_cancel(self) -> None:
        self.cancel_event.set()

    def is_cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def add_done_callback(self, callback: Callable[[Job], None]) -> None:
        """Call `callback(job)` once the job is terminal (at once if it already is)."""
        with self._lock:
            if not self.state.terminal:
                self._done_callbacks.append(callback)
                return
        callback(self)

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            return JobSnapshot(
                id=self.id,
                state=self.state,
                progress=round(self.progress, 2),
                tiles_done=self.tiles_done,
                tiles_total=self.tiles_total,
                eta_seconds=self._eta(),
                created_at=self.created_at,
                started_at=self.started_at,
                finished_at=self.finished_at,
                model=self.model or self.input.options.model,
                device=self.device,
                format=self.input.options.format,
                original_size=self.input.original_size,
                output_size=self.input.output_size,
                error_code=self.error_code,
                error_message=self.error_message,
                version=self.version,
            )

    def _eta(self) -> float | None:
        """Seconds left, from the measured time per tile; None until there is a measurement."""
        if self.state.terminal:
            return 0.0 if self.state is JobState.succeeded else None
        if self.first_tile_at is None or self.tiles_done <= 0:
            return None
        now = time.monotonic()
        # After the first report, time only the tiles since then: model loading and the
        # first batch's warm-up would otherwise inflate the rate.
        if self.tiles_done > self.first_tiles_done:
            per_tile = (now - self.first_tile_at) / (self.tiles_done - self.first_tiles_done)
        else:
            per_tile = (self.first_tile_at - (self.run_clock or self.first_tile_at)) / self.tiles_done
        return round(per_tile * max(self.tiles_total - self.tiles_done, 0), 2)
