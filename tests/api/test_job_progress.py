"""A job's tile count and time-left estimate, as GET /api/jobs/{id} and its events show them."""

from __future__ import annotations

import time

from tests.api.test_job_store import _job


def test_the_total_is_known_before_the_first_tile_and_does_not_start_the_estimate() -> None:
    job = _job("progress-a")
    assert job.mark_running()
    job.report_tiles(0, 12)  # the engine announces its windows before the first batch
    snap = job.snapshot()
    assert (snap.tiles_done, snap.tiles_total, snap.progress, snap.eta_seconds) == (0, 12, 0.0, None)
    time.sleep(0.05)  # the first batch, warm-up included: not part of the per-tile rate after it
    job.report_tiles(3, 12)
    time.sleep(0.03)
    job.report_tiles(6, 12)
    eta = job.snapshot().eta_seconds
    # 3 tiles took ~0.03 s since the first report: ~0.01 s a tile, 6 left. Counting from the
    # announcement would have folded the 0.05 s first batch into the rate (~0.08 s).
    assert eta is not None and 0.02 <= eta < 0.07, eta
