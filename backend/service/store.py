"""The jobs this replica holds, and removal of their results after the TTL."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from backend.service.jobs import Job, JobNotFound

log = logging.getLogger(__name__)


class JobStore:
    def __init__(self, jobs_dir: Path, ttl_seconds: float) -> None:
        self.jobs_dir = jobs_dir
        self.ttl_seconds = ttl_seconds
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self._sweep_stale_files()
        self._thread = threading.Thread(target=self._reap_forever, name="job-reaper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def add(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"no job {job_id!r} on this replica (unknown, deleted or expired)")
        return job

    def remove(self, job_id: str) -> Job | None:
        """Forget the job and delete its result, now or, if it is still running, once it ends:
        a job deleted while its result was being written must not leave the file behind."""
        with self._lock:
            job = self._jobs.pop(job_id, None)
        if job is not None:
            job.add_done_callback(lambda done: _delete(done.result_path))
        return job

    def __len__(self) -> int:
        return len(self._jobs)

    def reap(self, now: float | None = None) -> int:
        """Forget finished jobs older than the TTL and delete their files."""
        now = time.time() if now is None else now
        with self._lock:
            expired = [
                job_id
                for job_id, job in self._jobs.items()
                if job.finished_at is not None and now - job.finished_at > self.ttl_seconds
            ]
        for job_id in expired:
            self.remove(job_id)
        return len(expired)

    def _reap_forever(self) -> None:
        interval = max(0.5, min(60.0, self.ttl_seconds / 4))
        while not self._stop.wait(interval):
            try:
                self.reap()
            except Exception:
                log.exception("job reaper failed")

    def _sweep_stale_files(self) -> None:
        # Results left by an earlier run (or another replica sharing the volume) past their TTL.
        cutoff = time.time() - self.ttl_seconds
        for path in self.jobs_dir.iterdir():
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                pass


def _delete(path: Path | None) -> None:
    if path is None:
        return
    try:
        path.unlink(missing_ok=True)
    except OSError:
        log.warning("could not delete %s", path)
