"""A burst of uploads: at most QUEUE_SIZE of them are read and decoded at once (beyond the running
jobs); the rest get 503 queue_full with Retry-After before their upload is decoded. In process,
with the service's decode wrapped to count how many run at once."""

from __future__ import annotations

import asyncio
import io
import threading
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from backend.api_server import create_app
from backend.settings import Settings
from tests.api.conftest import pattern, png_bytes

QUEUE_SIZE = 2


class DecodeCounter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.total = 0

    def wrap(self, prepare):  # noqa: ANN001, ANN202
        def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            with self.lock:
                self.now += 1
                self.total += 1
                self.peak = max(self.peak, self.now)
            try:
                time.sleep(0.05)  # a big image takes a while: let the others pile up meanwhile
                return prepare(*args, **kwargs)
            finally:
                with self.lock:
                    self.now -= 1

        return counted


@pytest.fixture
def app_and_counter(tmp_path: Path, models_dir: Path):  # noqa: ANN201
    settings = Settings(
        models_dir=models_dir,
        jobs_dir=tmp_path / "jobs",
        default_model="tiny",
        device="cpu",
        tile=32,
        min_tile=8,
        tile_pad=4,
        tile_batch=1,
        queue_size=QUEUE_SIZE,
        max_upload_mb=1,
        max_batch_files=4,
        warmup=False,
        replica_id="test-r",
    )
    app = create_app(settings)
    service = app.state.service
    counter = DecodeCounter()
    service.prepare = counter.wrap(service.prepare)
    service.start()
    try:
        yield app, counter
    finally:
        service.stop()


def _image(index: int) -> tuple[str, bytes, str]:
    return (f"{index}.png", png_bytes(pattern(index, 64)), "image/png")


async def _burst(app, requests: list[tuple[str, dict]]) -> list[httpx.Response]:  # noqa: ANN001
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=120) as client:
        return await asyncio.gather(*(client.post(path, **kwargs) for path, kwargs in requests))


def _check_refusal(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "queue_full"
    assert int(response.headers["retry-after"]) >= 1


def test_a_burst_of_uploads_decodes_at_most_queue_size_at_once(app_and_counter) -> None:  # noqa: ANN001
    app, counter = app_and_counter
    requests = [("/api/upscale", {"files": {"file": _image(i)}}) for i in range(16)]
    requests += [("/api/jobs", {"files": {"file": _image(i)}}) for i in range(16, 32)]
    responses = asyncio.run(_burst(app, requests))
    accepted = [r for r in responses if r.status_code in (200, 202)]
    for response in responses:
        if response.status_code not in (200, 202):
            _check_refusal(response)
    assert len(accepted) >= QUEUE_SIZE
    assert counter.peak <= QUEUE_SIZE, counter.peak  # before: every upload of the burst at once
    assert counter.total == len(accepted)  # a refused upload is never decoded
    scheduler = app.state.service.scheduler
    assert scheduler.reserved == 0


def test_a_batch_waits_for_room_file_by_file_instead_of_failing(app_and_counter) -> None:  # noqa: ANN001
    app, counter = app_and_counter
    batch = ("/api/upscale-batch", {"files": [("files", _image(i)) for i in range(4)]})
    singles = [("/api/upscale", {"files": {"file": _image(i)}}) for i in range(8)]
    responses = asyncio.run(_burst(app, [batch, batch, *singles]))
    for response in responses[:2]:
        if response.status_code == 503:  # refused at once when nothing could start
            _check_refusal(response)
            continue
        assert response.status_code == 200, response.text
        assert (response.headers["x-batch-succeeded"], response.headers["x-batch-failed"]) == ("4", "0")
        assert len(zipfile.ZipFile(io.BytesIO(response.content)).namelist()) == 5
    for response in responses[2:]:
        if response.status_code != 200:
            _check_refusal(response)
    assert counter.peak <= QUEUE_SIZE, counter.peak
    assert app.state.service.scheduler.reserved == 0


def test_a_slot_is_given_back_however_the_upload_ends() -> None:
    from backend.service.jobs import Job
    from backend.service.scheduler import QueueFull, Scheduler, ShuttingDown

    scheduler = Scheduler(lambda job: None, queue_size=2)
    with scheduler.reserve() as first, scheduler.reserve():
        with pytest.raises(QueueFull):
            scheduler.reserve()
        with pytest.raises(QueueFull):
            scheduler.check_room()
        job = Job(id="test-r.0123456789abcdef0123456789abcdef", input=None, persist=False)  # type: ignore[arg-type]
        scheduler.submit(job, first)  # the place becomes the job's
        assert (scheduler.depth, scheduler.reserved) == (1, 1)
        first.release()  # used: nothing to give back
        assert scheduler.reserved == 1
    assert (scheduler.depth, scheduler.reserved) == (1, 0)  # an unused slot is given back
    with scheduler.reserve() as slot:
        scheduler.stop_accepting()
        with pytest.raises(ShuttingDown):
            scheduler.submit(Job(id="test-r.1123456789abcdef0123456789abcdef", input=None, persist=False), slot)  # type: ignore[arg-type]
    assert scheduler.reserved == 0


def test_a_full_job_store_refuses_and_gives_the_slot_back(tmp_path: Path, models_dir: Path) -> None:
    settings = Settings(
        models_dir=models_dir,
        jobs_dir=tmp_path / "jobs",
        default_model="tiny",
        device="cpu",
        queue_size=QUEUE_SIZE,
        jobs_max_disk_mb=0.0001,
        warmup=False,
        replica_id="test-r",
    )
    app = create_app(settings)
    service = app.state.service
    service.start()
    try:
        first = asyncio.run(_burst(app, [("/api/jobs", {"files": {"file": _image(0)}})]))[0]
        assert first.status_code == 202, first.text
        deadline = time.monotonic() + 60
        while service.get_job(first.json()["id"]).state.value in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        refused = asyncio.run(_burst(app, [("/api/jobs", {"files": {"file": _image(1)}})] * 3))
        for response in refused:
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "job_storage_full"
            assert int(response.headers["retry-after"]) >= 1
        assert service.scheduler.reserved == 0
    finally:
        service.stop()
