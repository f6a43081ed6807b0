"""The service facade the API talks to: prepare uploads, run jobs, look them up, cancel them."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from backend.service import pipeline
from backend.service.ids import is_job_id, new_job_id, replica_id
from backend.service.jobs import Job, JobInput, JobNotFound
from backend.service.options import UpscaleOptions
from backend.service.readiness import Readiness
from backend.service.scheduler import Scheduler, Slot
from backend.service.store import JobStore
from backend.settings import Settings

if TYPE_CHECKING:
    from backend.models.manager import ModelManager

log = logging.getLogger(__name__)


class UpscaleService:
    def __init__(self, settings: Settings, manager: ModelManager, workers: int | None = None) -> None:
        self.settings = settings
        self.manager = manager
        self.replica = replica_id(settings.replica_id)
        self.store = JobStore(
            settings.jobs_dir, settings.job_ttl_seconds, max_bytes=int(settings.jobs_max_disk_mb * 2**20)
        )
        # Several jobs at once on a GPU: their tiles share forward passes (models/batcher.py).
        workers = settings.jobs_at_once(manager.device.type) if workers is None else workers
        runner = pipeline.make_runner(manager, settings.jobs_dir, settings.png_compression)
        self.scheduler = Scheduler(runner, queue_size=settings.queue_size, workers=workers)
        self.readiness = Readiness()
        self._stop_lock = threading.Lock()
        self._stopper: threading.Thread | None = None

    def start(self) -> None:
        self.store.start()
        self.scheduler.start()
        self.readiness.start(self.manager, self.settings)

    def begin_shutdown(self) -> None:
        """Called at SIGTERM, before the server waits for open requests: refuse new work now and
        let queued and running jobs finish within SHUTDOWN_TIMEOUT, so those requests end in time."""
        with self._stop_lock:
            if self._stopper is None:
                self.scheduler.stop_accepting()
                self._stopper = threading.Thread(
                    target=self.scheduler.stop, args=(self.settings.shutdown_timeout,), name="shutdown", daemon=True
                )
                self._stopper.start()

    def stop(self) -> None:
        self.begin_shutdown()
        assert self._stopper is not None
        self._stopper.join()
        self.store.stop()

    @property
    def accepting(self) -> bool:
        return self.scheduler.accepting

    # --- work ---

    def prepare(self, data: bytes, options: UpscaleOptions, filename: str = "image") -> JobInput:
        """Blocking (probe, maybe load a custom model, decode): call from a worker thread."""
        return pipeline.prepare(self.manager, self.settings, data, options, filename)

    def submit(self, job_input: JobInput, *, keep: bool, slot: Slot | None = None) -> Job:
        """Queue a job, in the place `slot` holds if given (Scheduler.reserve). keep=True: the
        jobs API, result on disk and the job kept until its TTL."""
        if keep:
            self.store.check_room()
        job = Job(id=new_job_id(self.replica), input=job_input, persist=keep)
        self.scheduler.submit(job, slot)
        if keep:
            self.store.add(job)
        return job

    def cancel(self, job: Job) -> None:
        self.scheduler.cancel(job)

    # --- jobs API ---

    def get_job(self, job_id: str) -> Job:
        if not is_job_id(job_id):
            shown = job_id if len(job_id) <= 80 else job_id[:80] + "..."  # don't echo a megabyte of path
            raise JobNotFound(f"{shown!r} is not a job id")
        return self.store.get(job_id)

    def delete_job(self, job_id: str) -> Job:
        """Cancel the job if it is not finished, then forget it and delete its result."""
        job = self.get_job(job_id)
        self.scheduler.cancel(job)
        self.store.remove(job_id)
        return job
