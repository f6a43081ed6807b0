"""JobStore: results nobody fetches must not stay on disk past their TTL, whatever happened meanwhile."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from backend.service.jobs import Job, JobInput
from backend.service.options import UpscaleOptions
from backend.service.store import JobStorageFull, JobStore


def _job(job_id: str) -> Job:
    options = UpscaleOptions(model="tiny", scale=None, format="png", quality=95, tile=None, denoise_strength=None)
    pixels = np.zeros((4, 4, 3), dtype=np.uint8)
    return Job(id=job_id, input=JobInput(pixels, options, (4, 4), (16, 16)), persist=True)


def _finished(store: JobStore, tmp_path: Path, job_id: str, size: int) -> Job:
    job = _job(job_id)
    store.add(job)
    result = tmp_path / f"{job.id}.png"
    result.write_bytes(b"x" * size)
    job.succeed(None, result, "cpu")
    return job


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
    job = _finished(store, tmp_path, "test-a." + "2" * 32, 3)
    store.remove(job.id)
    assert not (tmp_path / f"{job.id}.png").exists()


def test_expired_jobs_are_forgotten_with_their_files(tmp_path: Path) -> None:
    store = JobStore(tmp_path, ttl_seconds=10)
    job = _finished(store, tmp_path, "test-a." + "3" * 32, 3)
    result = tmp_path / f"{job.id}.png"
    assert job.finished_at is not None
    assert store.reap(now=job.finished_at + 5) == 0 and result.exists()
    assert store.reap(now=job.finished_at + 11) == 1
    assert not result.exists() and len(store) == 0


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_results_left_by_a_restart_are_swept_once_past_the_ttl(tmp_path: Path) -> None:
    # A result younger than the TTL at start-up belongs to a job this process never knew: the
    # start-up sweep kept it, and the reaper only looked at known jobs, so it stayed until the
    # next restart (reproduced: TTL 12 s, restart 3 s after the job, file still there 34 s later).
    store = JobStore(tmp_path, ttl_seconds=60)
    earlier = tmp_path / ("test-a." + "4" * 32 + ".png")
    earlier.write_bytes(b"png")
    store.start()
    try:
        assert earlier.exists()  # still young at start-up
        _age(earlier, 61)
        store.reap()
        assert not earlier.exists()
    finally:
        store.stop()


def test_the_sweep_only_touches_files_named_like_results(tmp_path: Path) -> None:
    # JOBS_DIR may be set to a folder that holds other things (weights, notes): leave them be.
    keep = [tmp_path / name for name in ("RealESRGAN_x4plus.pth", "notes.txt", "test-a.xyz.png")]
    gone = [tmp_path / ("test-a." + "5" * 32 + ext) for ext in (".png", ".jpg", ".webp", ".part")]
    for path in keep + gone:
        path.write_bytes(b"x")
        _age(path, 3600)
    store = JobStore(tmp_path, ttl_seconds=60)
    store.start()
    store.stop()
    assert all(path.exists() for path in keep)
    assert not any(path.exists() for path in gone)


def test_kept_results_over_the_cap_refuse_new_jobs_until_one_is_deleted(tmp_path: Path) -> None:
    store = JobStore(tmp_path, ttl_seconds=600, max_bytes=1000)
    first = _finished(store, tmp_path, "test-a." + "5" * 32, 600)
    store.check_room()  # 600 of 1000 bytes: room left
    _finished(store, tmp_path, "test-a." + "6" * 32, 600)
    with pytest.raises(JobStorageFull) as refused:
        store.check_room(now=first.finished_at + 100)
    assert refused.value.status == 503 and refused.value.code == "job_storage_full"
    assert refused.value.headers["Retry-After"] == "500"  # when the oldest result expires
    assert "JOBS_MAX_DISK_MB" in refused.value.message and "DELETE" in refused.value.message
    store.remove(first.id)
    store.check_room()


def test_a_job_deleted_while_running_does_not_count_against_the_cap(tmp_path: Path) -> None:
    store = JobStore(tmp_path, ttl_seconds=600, max_bytes=100)
    job = _job("test-a." + "7" * 32)
    store.add(job)
    assert job.mark_running()
    store.remove(job.id)
    result = tmp_path / f"{job.id}.png"
    result.write_bytes(b"x" * 500)
    job.succeed(None, result, "cpu")
    store.check_room()


def test_no_cap_when_max_bytes_is_zero(tmp_path: Path) -> None:
    store = JobStore(tmp_path, ttl_seconds=600)
    _finished(store, tmp_path, "test-a." + "8" * 32, 10_000)
    store.check_room()
