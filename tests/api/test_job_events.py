"""A job's event stream as a client that waits in the queue sees it."""

from __future__ import annotations

import json
import time

import httpx

from tests.api.conftest import Server, pattern, png_bytes
from tests.api.test_jobs import SLOW, _noise

GOOD = png_bytes(pattern(4))


def _next_status(lines) -> dict:  # noqa: ANN001
    for line in lines:
        if line.startswith("data: "):
            return json.loads(line[len("data: ") :])
    raise AssertionError("the event stream ended")


def test_event_stream_tells_a_queued_job_its_new_place(client: httpx.Client, server: Server) -> None:
    # Before: a queued job's stream sent its place once and then nothing until the job ran,
    # although GET /api/jobs/{id} showed the place going down.
    slow = client.post("/api/jobs", params=SLOW, files={"file": ("s.png", _noise(288, 7), "image/png")}).json()
    ids = [slow["id"]]
    try:
        deadline = time.monotonic() + 30
        while client.get(f"/api/jobs/{slow['id']}").json()["state"] == "queued" and time.monotonic() < deadline:
            time.sleep(0.02)
        first = client.post("/api/jobs", files={"file": ("b.png", GOOD, "image/png")}).json()
        second = client.post("/api/jobs", files={"file": ("c.png", GOOD, "image/png")}).json()
        ids += [first["id"], second["id"]]
        assert (first["queue_position"], second["queue_position"]) == (0, 1)
        with (
            server.client(timeout=httpx.Timeout(10, read=3)) as http,
            http.stream("GET", f"/api/jobs/{second['id']}/events") as response,
        ):
            lines = response.iter_lines()
            assert _next_status(lines)["queue_position"] == 1
            assert client.delete(f"/api/jobs/{first['id']}").status_code == 200
            moved = _next_status(lines)  # old code: ReadTimeout, no event until the slow job ended
            assert (moved["state"], moved["queue_position"]) == ("queued", 0)
    finally:
        for job_id in ids:
            client.delete(f"/api/jobs/{job_id}")
