"""Requests that cost the server much more than the client: ONNX exports, held event streams, keys."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx
import pytest

from backend.api import auth
from backend.api.routes.jobs import MAX_STREAMS_PER_JOB
from tests.api.conftest import Server, make_tiny_model, start_server
from tests.api.test_jobs import SLOW, _noise

EXPORTED = "RealESRGAN_x4plus"  # bundled; its export takes seconds of CPU


async def _health_while_exporting(url: str, requests: int) -> tuple[float, list[int]]:
    limits = httpx.Limits(max_connections=requests + 10, max_keepalive_connections=requests + 10)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as http:

        async def onnx() -> int:
            async with http.stream("GET", f"/api/models/{EXPORTED}/onnx") as response:
                return response.status_code  # headers only: 67 MB each is not the point

        tasks = [asyncio.create_task(onnx()) for _ in range(requests)]
        await asyncio.sleep(1.0)  # the export is under way, every request is waiting for it
        started = time.perf_counter()
        health = await http.get("/api/health")
        waited = time.perf_counter() - started
        assert health.status_code == 200
        return waited, list(await asyncio.gather(*tasks))


def test_waiting_onnx_requests_do_not_starve_other_requests(tmp_path: Path) -> None:
    # Before: each request waited for the export in a worker thread; 60 of them took all 40 of
    # anyio's threads, so /api/health (a sync route) and upload decoding waited for the export.
    models_dir = tmp_path / "models"  # its own: the export is cached there
    models_dir.mkdir()
    make_tiny_model(models_dir / "tiny.safetensors")
    server = start_server(tmp_path, models_dir)
    try:
        with server.client() as http:
            if EXPORTED not in [model["name"] for model in http.get("/api/models").json()["models"]]:
                pytest.skip(f"{EXPORTED} is not bundled here")
        waited, statuses = asyncio.run(_health_while_exporting(server.url, 60))
        assert set(statuses) == {200}
        assert waited < 2.0, f"/api/health took {waited:.1f} s while an export ran"
    finally:
        server.stop()


def test_a_job_takes_a_bounded_number_of_event_streams(client: httpx.Client, server: Server) -> None:
    # Before: any number; each open stream wakes every 100 ms for as long as the job runs, and a
    # few hundred on one job slowed every request on the event loop (live: 13 ms -> 330 ms).
    # The watched job waits behind another slow one, so it stays unfinished for the whole test.
    slow = {**SLOW, "tile": "8"}
    ahead = client.post("/api/jobs", params=slow, files={"file": ("a.png", _noise(288, 3), "image/png")}).json()
    job = client.post("/api/jobs", params=slow, files={"file": ("s.png", _noise(288, 4), "image/png")}).json()
    try:
        with contextlib.ExitStack() as stack:
            http = stack.enter_context(server.client(timeout=httpx.Timeout(10, read=5)))
            for _ in range(MAX_STREAMS_PER_JOB):
                response = stack.enter_context(http.stream("GET", f"/api/jobs/{job['id']}/events"))
                assert response.status_code == 200
            with http.stream("GET", f"/api/jobs/{job['id']}/events") as refused:
                status = refused.status_code
                body = refused.read() if status != 200 else b"(a stream)"  # old code: a 9th stream
            assert status == 429, body
            assert json.loads(body)["code"] == "too_many_streams"
            assert client.get(f"/api/jobs/{job['id']}").json()["state"] in ("queued", "running")  # polling works
        # The streams are closed: their places come back once the server notices.
        deadline = time.monotonic() + 10
        while True:
            with (
                server.client(timeout=httpx.Timeout(10, read=5)) as http,
                http.stream("GET", f"/api/jobs/{job['id']}/events") as response,
            ):
                if response.status_code == 200:
                    break
            assert time.monotonic() < deadline, "closed streams kept their places"
            time.sleep(0.2)
    finally:
        client.delete(f"/api/jobs/{job['id']}")
        client.delete(f"/api/jobs/{ahead['id']}")


def test_api_key_comparison_does_not_depend_on_the_key_length(monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: compare_digest(presented, known) returns at once when the lengths differ, which
    # tells a caller the length of each configured key.
    lengths: list[tuple[int, int]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        lengths.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    keys = ["short", "a-much-longer-key-" * 4]
    assert auth.key_is_valid("short", keys)
    assert auth.key_is_valid("a-much-longer-key-" * 4, keys)
    assert not auth.key_is_valid("x", keys)
    assert not auth.key_is_valid("", keys)
    assert {pair for pair in lengths} == {(hashlib.sha256().digest_size,) * 2}
