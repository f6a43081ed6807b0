"""Startup (script and uvicorn), readiness while the model loads, and graceful shutdown."""

from __future__ import annotations

import time

import httpx
import numpy as np

from tests.api.conftest import Server, pattern, png_bytes, start_server

SLOW = {"model": "realesr-animevideov3", "tile": "16", "scale": "1"}


def _slow_image() -> bytes:
    return png_bytes(np.random.default_rng(7).integers(0, 256, (288, 288, 3), dtype=np.uint8))


def _wait_running(client: httpx.Client, job_id: str) -> None:
    deadline = time.monotonic() + 30
    while client.get(f"/api/jobs/{job_id}").json()["state"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _exit_within(server: Server, seconds: float) -> tuple[int, float]:
    started = time.monotonic()
    code = server.stop(timeout=seconds)
    return code, time.monotonic() - started


def test_script_start_serves_and_shutdown_finishes_in_flight_work(tmp_path, models_dir) -> None:  # noqa: ANN001
    server = start_server(tmp_path, models_dir, as_script=True, SHUTDOWN_TIMEOUT="60")
    try:
        with server.client() as client:
            assert client.get("/api/health").json()["model_loaded"] is True
            ok = client.post("/api/upscale", files={"file": ("p.png", png_bytes(pattern(1)), "image/png")})
            assert ok.status_code == 200
            job = client.post("/api/jobs", params=SLOW, files={"file": ("n.png", _slow_image(), "image/png")}).json()
            _wait_running(client, job["id"])
    finally:
        code, _ = _exit_within(server, 90)
    assert code in (0, -15), server.log()  # uvicorn re-raises SIGTERM after a clean shutdown
    results = [path.name for path in (tmp_path / "jobs").iterdir()]
    assert results == [f"{job['id']}.png"], server.log()  # finished during the drain, not dropped


def test_shutdown_timeout_cancels_unfinished_work(tmp_path, models_dir) -> None:  # noqa: ANN001
    server = start_server(tmp_path, models_dir, SHUTDOWN_TIMEOUT="0.2")
    try:
        with server.client() as client:
            job = client.post("/api/jobs", params=SLOW, files={"file": ("n.png", _slow_image(), "image/png")}).json()
            _wait_running(client, job["id"])
    finally:
        code, seconds = _exit_within(server, 60)
    assert code in (0, -15)
    assert seconds < 10
    assert "cancelling job" in server.log()
    assert list((tmp_path / "jobs").iterdir()) == []


def test_health_is_loading_then_healthy_while_the_model_warms(tmp_path, models_dir) -> None:  # noqa: ANN001
    server = start_server(tmp_path, models_dir, wait_ready=False, DEFAULT_MODEL="RealESRGAN_x4plus")
    try:
        with server.client() as client:
            first = client.get("/api/health").json()
            assert (first["status"], first["model_loaded"]) == ("loading", False)
            assert client.get("/api/health/ready").status_code == 503
            deadline = time.monotonic() + 120
            while (body := client.get("/api/health").json())["status"] == "loading":
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert (body["status"], body["model_loaded"]) == ("healthy", True)
            assert client.get("/api/health/ready").status_code == 200
    finally:
        server.stop()


def test_default_model_that_fails_to_load_reports_unhealthy(tmp_path, models_dir) -> None:  # noqa: ANN001
    server = start_server(tmp_path, models_dir, DEFAULT_MODEL="does-not-exist")
    try:
        with server.client() as client:
            body = client.get("/api/health").json()
            assert (body["status"], body["model_loaded"]) == ("unhealthy", False)
            assert "does-not-exist" in body["error"]
            assert client.get("/api/health/ready").status_code == 503
            missing = client.post("/api/upscale", files={"file": ("p.png", png_bytes(pattern(1)), "image/png")})
            assert (missing.status_code, missing.json()["code"]) == (404, "model_not_found")
    finally:
        server.stop()


def test_shutdown_ends_waiting_requests_and_streams_within_the_timeout(tmp_path, models_dir) -> None:  # noqa: ANN001
    """SIGTERM with a synchronous upscale running and a queued job being watched over SSE:
    under plain `uvicorn` (no graceful timeout of its own) both end within SHUTDOWN_TIMEOUT,
    the upscale with its result or a 503 JSON, the stream with a final `done` event."""
    import threading

    server = start_server(tmp_path, models_dir, SHUTDOWN_TIMEOUT="1")
    answers: dict[str, object] = {}

    def upscale() -> None:
        with server.client(timeout=60) as client:
            slower = {**SLOW, "tile": "8"}  # about 1300 tiles: still running at the deadline
            answers["upscale"] = client.post("/api/upscale", params=slower, files={"file": ("n.png", _slow_image())})

    def watch(job_id: str) -> None:
        with server.client(timeout=60) as client, client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
            answers["events"] = [line for line in stream.iter_lines() if line.startswith("event:")]

    with server.client() as client:
        sync = threading.Thread(target=upscale)
        sync.start()
        deadline = time.monotonic() + 30
        while not client.get("/api/info").json()["queue"]["running"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        queued = client.post("/api/jobs", params=SLOW, files={"file": ("q.png", _slow_image())}).json()
    watcher = threading.Thread(target=watch, args=(queued["id"],))
    watcher.start()
    time.sleep(0.5)
    code, seconds = _exit_within(server, 60)
    sync.join(10)
    watcher.join(10)
    assert code in (0, -15), server.log()
    assert seconds < 1 + 7, server.log()  # the timeout, plus the worker noticing its cancel
    response = answers["upscale"]
    assert isinstance(response, httpx.Response)
    assert response.status_code == 503, response.status_code
    assert response.json()["code"] == "shutting_down" and response.headers["retry-after"]
    assert answers["events"][-1] == "event: done", answers
    assert "Exception in ASGI application" not in server.log()
