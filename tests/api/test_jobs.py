"""Jobs API: real progress over SSE, results, cancellation, expiry, and client disconnects."""

from __future__ import annotations

import json
import time

import httpx
import numpy as np
import pytest

from tests.api.conftest import Server, block_mean, decode, pattern, png_bytes, start_server

SLOW = {"model": "realesr-animevideov3", "tile": "16", "scale": "1"}  # ~300 tiles on 288x288: seconds on CPU


def _noise(size: int, seed: int = 0) -> bytes:
    return png_bytes(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8))


def _events(client: httpx.Client, job_id: str):  # noqa: ANN202
    """Yield (event, data) pairs from the job's SSE stream."""
    with client.stream("GET", f"/api/jobs/{job_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: "):
                yield event, json.loads(line[len("data: ") :])


def _wait_state(client: httpx.Client, job_id: str, states: set[str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/jobs/{job_id}").json()
        if body["state"] in states:
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {states}: {body}")


def test_job_lifecycle_with_monotonic_sse_progress_to_100(client: httpx.Client) -> None:
    image = pattern(2, 64)
    created = client.post("/api/jobs", params={"tile": 16}, files={"file": ("p.png", png_bytes(image), "image/png")})
    assert created.status_code == 202, created.text
    body = created.json()
    job_id = body["id"]
    assert job_id.startswith("test-a.")
    assert created.headers["location"] == f"/api/jobs/{job_id}"
    assert body["state"] in ("queued", "running", "succeeded")

    progress = [
        (event, data["progress"], data["tiles_done"], data["tiles_total"]) for event, data in _events(client, job_id)
    ]
    values = [value for _, value, _, _ in progress]
    assert values == sorted(values), progress
    assert progress[-1][0] == "done" and values[-1] == 100
    assert max(total for *_, total in progress) >= 16  # 64x64 in 16px tiles

    status = client.get(f"/api/jobs/{job_id}").json()
    assert status["state"] == "succeeded"
    assert status["progress"] == 100
    assert status["eta_seconds"] == 0
    assert status["output_size"] == [256, 256]
    result = client.get(f"/api/jobs/{job_id}/result")
    assert result.status_code == 200
    assert result.headers["x-output-size"] == "256x256"
    assert np.abs(block_mean(decode(result.content), 4) - image).max() < 4

    deleted = client.delete(f"/api/jobs/{job_id}")
    assert deleted.status_code == 200
    assert client.get(f"/api/jobs/{job_id}").status_code == 404
    assert client.get(f"/api/jobs/{job_id}/result").json()["code"] == "job_not_found"


def test_running_job_reports_eta_and_cancel_stops_remaining_tiles(client: httpx.Client) -> None:
    created = client.post("/api/jobs", params=SLOW, files={"file": ("n.png", _noise(288), "image/png")})
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    for _event, data in _events(client, job_id):
        if data["tiles_done"] >= 2:
            assert data["eta_seconds"] is not None and data["eta_seconds"] > 0
            assert 0 < data["progress"] < 100
            break
    not_ready = client.get(f"/api/jobs/{job_id}/result")
    assert (not_ready.status_code, not_ready.json()["code"]) == (409, "job_not_ready")

    started = time.monotonic()
    assert client.delete(f"/api/jobs/{job_id}").status_code == 200
    assert client.get(f"/api/jobs/{job_id}").status_code == 404  # forgotten at once
    # The worker stops at its next tile batch: the queue is free again long before the job could finish.
    quick = client.post("/api/upscale", files={"file": ("q.png", png_bytes(pattern(9)), "image/png")})
    assert quick.status_code == 200
    assert time.monotonic() - started < 3
    metrics = client.get("/metrics").text
    assert 'upscale_jobs_total{state="cancelled"}' in metrics


def test_queued_job_cancel_frees_its_place(client: httpx.Client) -> None:
    running = client.post("/api/jobs", params=SLOW, files={"file": ("a.png", _noise(288, 1), "image/png")}).json()
    try:
        # On a busy machine the worker may not have taken the first job yet: wait until it has,
        # so the second one is alone in the queue.
        _wait_state(client, running["id"], {"running"})
        queued = client.post("/api/jobs", files={"file": ("b.png", png_bytes(pattern(3)), "image/png")}).json()
        assert queued["state"] == "queued" and queued["queue_position"] == 0
        cancelled = client.delete(f"/api/jobs/{queued['id']}").json()
        assert cancelled["state"] == "cancelled"
    finally:
        # Free the worker even when an assertion failed, so the next tests find an idle queue.
        client.delete(f"/api/jobs/{running['id']}")
        _wait_idle(client)


def test_unknown_and_malformed_job_ids_are_404(client: httpx.Client) -> None:
    for job_id in ("test-a." + "0" * 32, "nonsense", "..%2F..%2Fetc"):
        response = client.get(f"/api/jobs/{job_id}")
        assert response.status_code == 404
        assert response.json()["code"] in ("job_not_found", "not_found")  # a decoded '/' leaves the route
    assert client.get("/api/jobs/nonsense/events").status_code == 404


def test_client_disconnect_cancels_the_sync_job(client: httpx.Client, server: Server) -> None:
    before = _cancelled_count(client)
    with pytest.raises(httpx.ReadTimeout), server.client(timeout=httpx.Timeout(30, read=0.7)) as impatient:
        impatient.post("/api/upscale", params=SLOW, files={"file": ("n.png", _noise(288, 2), "image/png")})
    deadline = time.monotonic() + 5
    while _cancelled_count(client) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _cancelled_count(client) == before + 1
    _wait_idle(client, timeout=5)  # the worker is free again, not still computing the abandoned job


def _wait_idle(client: httpx.Client, timeout: float = 30) -> None:
    """Until nothing runs or waits: a cancelled job stops at its next tile batch, not at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        queue = client.get("/api/info").json()["queue"]
        if queue["running"] == 0 and queue["depth"] == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"the queue did not drain: {queue}")


def _cancelled_count(client: httpx.Client) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith('upscale_jobs_total{state="cancelled"}'):
            return float(line.split()[-1])
    return 0.0


def test_results_expire_after_the_ttl(tmp_path, models_dir) -> None:  # noqa: ANN001
    server = start_server(tmp_path, models_dir, JOB_TTL_SECONDS="1", REPLICA_ID="", QUEUE_SIZE="1")
    try:
        with server.client() as client:
            job = client.post("/api/jobs", files={"file": ("p.png", png_bytes(pattern(4)), "image/png")}).json()
            assert "." in job["id"]  # replica derived from the hostname
            _wait_state(client, job["id"], {"succeeded"})
            files = list((tmp_path / "jobs").iterdir())
            assert len(files) == 1
            deadline = time.monotonic() + 10
            while client.get(f"/api/jobs/{job['id']}").status_code != 404 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert client.get(f"/api/jobs/{job['id']}").status_code == 404
            assert list((tmp_path / "jobs").iterdir()) == []
    finally:
        server.stop()


def test_kept_results_filling_jobs_max_disk_mb_refuse_new_jobs_with_503(tmp_path, models_dir) -> None:  # noqa: ANN001
    # Results nobody fetches used to pile up until their TTL with no bound on disk.
    server = start_server(tmp_path, models_dir, JOBS_MAX_DISK_MB="0.000001", JOB_TTL_SECONDS="600")
    upload = {"file": ("p.png", png_bytes(pattern(4)), "image/png")}
    try:
        with server.client() as client:
            first = client.post("/api/jobs", files=upload).json()
            _wait_state(client, first["id"], {"succeeded"})
            refused = client.post("/api/jobs", files=upload)
            assert refused.status_code == 503, refused.text
            assert refused.json()["code"] == "job_storage_full"
            assert 1 <= int(refused.headers["Retry-After"]) <= 600
            assert "DELETE" in refused.json()["detail"]
            # Other requests are not affected, and deleting a fetched job makes room again.
            assert client.post("/api/upscale", files=upload).status_code == 200
            assert client.get(f"/api/jobs/{first['id']}/result").status_code == 200
            assert client.delete(f"/api/jobs/{first['id']}").status_code == 200
            second = client.post("/api/jobs", files=upload)
            assert second.status_code == 202, second.text
    finally:
        server.stop()
