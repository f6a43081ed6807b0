"""The jobs this replica holds, and removal of their results after the TTL."""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from pathlib import Path

from backend.errors import RetryLater
from backend.service.jobs import Job, JobNotFound

log = logging.getLogger(__name__)

# What the pipeline writes into jobs_dir: `<job id>.<png|jpg|webp>`, or `.part` while it writes.
# Only such files are swept, so a JOBS_DIR pointed at a folder with other files loses none of them.
_RESULT_FILE = re.compile(r"^[a-z0-9-]{1,32}\.[0-9a-f]{32}\.(png|jpg|webp|part)$")


class JobStorageFull(RetryLater):
    """Kept results fill JOBS_MAX_DISK_MB (nginx tries another replica)."""

    code = "job_storage_full"


class JobStore:
    def __init__(self, jobs_dir: Path, ttl_seconds: float, max_bytes: int = 0) -> None:
        self.jobs_dir = jobs_dir
        self.ttl_seconds = ttl_seconds
        self.max_bytes = max_bytes  # 0 = no cap on the results kept
        self._jobs: dict[str, Job] = {}
        self._result_bytes: dict[str, int] = {}  # finished jobs' result sizes, for the cap
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
        job.add_done_callback(self._count_result)

    def check_room(self, now: float | None = None) -> None:
        """Raise JobStorageFull when the kept results already fill the cap. Jobs still queued or
        running are not counted, so the cap can be passed by the results of those."""
        if not self.max_bytes:
            return
        with self._lock:
            stored = sum(self._result_bytes.values())
            finished = [self._jobs[job_id].finished_at for job_id in self._result_bytes if job_id in self._jobs]
        if stored < self.max_bytes:
            return
        now = time.time() if now is None else now
        oldest = min((at for at in finished if at is not None), default=now)
        retry_after = max(1, min(math.ceil(oldest + self.ttl_seconds - now), math.ceil(self.ttl_seconds)))
        raise JobStorageFull(
            f"job results waiting to be fetched fill this replica's storage ({stored / 2**20:.1f} MB of "
            f"JOBS_MAX_DISK_MB={self.max_bytes / 2**20:g}); fetch and DELETE finished jobs, or retry later",
            retry_after,
        )

    def _count_result(self, job: Job) -> None:
        path = job.result_path
        if path is None:
            return
        try:
            size = path.stat().st_size
        except OSError:
            return
        with self._lock:
            if job.id in self._jobs:  # not removed meanwhile
                self._result_bytes[job.id] = size

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
            self._result_bytes.pop(job_id, None)
        if job is not None:
            job.add_done_callback(lambda done: _delete(done.result_path))
        return job

    def __len__(self) -> int:
        return len(self._jobs)

    def reap(self, now: float | None = None) -> int:
        """Forget finished jobs older than the TTL and delete their files, and any other result
        file past the TTL: those of jobs from before a restart, which this process does not know."""
        now = time.time() if now is None else now
        self._sweep_stale_files(now)
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

    def _sweep_stale_files(self, now: float | None = None) -> None:
        # Results left by an earlier run (or another replica sharing the volume) past their TTL.
        # Not only at start: a result younger than the TTL at a restart would otherwise stay forever.
        cutoff = (time.time() if now is None else now) - self.ttl_seconds
        try:
            paths = list(self.jobs_dir.iterdir())
        except OSError:
            return
        for path in paths:
            try:
                if _RESULT_FILE.match(path.name) and path.is_file() and path.stat().st_mtime < cutoff:
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
