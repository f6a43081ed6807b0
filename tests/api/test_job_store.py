"""JobStore: a job deleted while it still runs must not leave its result file behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backend.service.jobs import Job, JobInput
from backend.service.options import UpscaleOptions
from backend.service.store import JobStore


def _job(job_id: str) -> Job:
    options = UpscaleOptions(model="tiny", scale=None, format="png", quality=95, tile=None, denoise_strength=None)
    pixels = np.zeros((4, 4, 3), dtype=np.uint8)
    return Job(id=job_id, input=JobInput(pixels, options, (4, 4), (16, 16)), persist=True)


def test_a_result_written_after_the_delete_is_deleted_too(tmp_path: Path) -> None:
    # The worker checks for a cancel after writing the file, then calls succeed(): a DELETE that
    # lands between the two used to find no result_path yet, so the file stayed until a restart.
    store = JobStore(tmp_path, ttl_seconds=3600)
    job = _job("test-a." + "1" * 32)
    store.add(job)
    assert job.mark_running()
    assert store.remove(job.id) is job
    result = tmp_path / f"{job.id}.png"
    result.write_bytes(b"png")
    job.succeed(None, result, "cpu")
    assert not result.exists()


def test_removing_a_finished_job_deletes_its_result(tmp_path: Path) -> None:
    store = JobStore(tmp_path, ttl_seconds=3600)
    job = _job("test-a." + "2" * 32)
    store.add(job)
    result = tmp_path / f"{job.id}.png"
    result.write_bytes(b"png")
    job.succeed(None, result, "cpu")
    store.remove(job.id)
    assert not result.exists()


def test_expired_jobs_are_forgotten_with_their_files(tmp_path: Path) -> None:
    store = JobStore(tmp_path, ttl_seconds=10)
    job = _job("test-a." + "3" * 32)
    store.add(job)
    result = tmp_path / f"{job.id}.png"
    result.write_bytes(b"png")
    job.succeed(None, result, "cpu")
    assert job.finished_at is not None
    assert store.reap(now=job.finished_at + 5) == 0 and result.exists()
    assert store.reap(now=job.finished_at + 11) == 1
    assert not result.exists() and len(store) == 0
