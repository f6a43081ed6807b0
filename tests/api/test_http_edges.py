"""HTTP edges: an over-limit body answered with JSON even when the client sends it all first,
and every cancelled job counted in the metrics."""

from __future__ import annotations

import json
import re
import socket
import time
from urllib.parse import urlsplit

import httpx

from tests.api.conftest import Server, make_tiny_model, pattern, png_bytes, start_server
from tests.api.test_lifecycle import SLOW, _slow_image, _wait_running


def test_over_limit_body_sent_in_full_still_gets_the_413_json(server: Server) -> None:
    """A proxy (nginx) sends the whole body before it reads the answer. The server reads and
    drops the excess before answering: closing with unread data would reset the connection,
    and nginx would show its client a 502 instead of the 413."""
    body = b"x" * (2 * 1024 * 1024)  # the test server's limit is 1 MB
    head = (
        "POST /api/upscale HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", urlsplit(server.url).port), timeout=20) as sock:
            sock.sendall(head.encode() + body)
            time.sleep(0.2)  # the server has answered by now; an unread body would reset here
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line.startswith(b"HTTP/1.1 413")
        assert json.loads(rest.partition(b"\r\n\r\n")[2])["code"] == "upload_too_large"


def _cancelled_count(client: httpx.Client) -> float:
    text = client.get("/metrics").text
    match = re.search(r'^upscale_jobs_total\{state="cancelled"\} (\S+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_every_cancelled_job_is_counted(client: httpx.Client) -> None:
    before = _cancelled_count(client)
    running = client.post("/api/jobs", params=SLOW, files={"file": ("a.png", _slow_image())}).json()
    _wait_running(client, running["id"])
    queued = client.post("/api/jobs", params=SLOW, files={"file": ("b.png", _slow_image())}).json()
    assert client.delete(f"/api/jobs/{queued['id']}").status_code in (200, 204)
    assert client.delete(f"/api/jobs/{running['id']}").status_code in (200, 204)
    deadline = time.monotonic() + 30
    while _cancelled_count(client) < before + 2:
        assert time.monotonic() < deadline, "a cancelled job was not counted"
        time.sleep(0.1)


def test_a_broken_model_file_says_what_is_wrong(tmp_path) -> None:  # noqa: ANN001
    models = tmp_path / "models"
    models.mkdir()
    make_tiny_model(models / "tiny.safetensors")
    (models / "broken.pth").write_bytes(b"this is not a checkpoint")
    server = start_server(tmp_path, models)
    try:
        with server.client() as client:
            files = {"file": ("p.png", png_bytes(pattern(1)), "image/png")}
            response = client.post("/api/upscale", params={"model": "broken"}, files=files)
            assert response.status_code == 500
            body = response.json()
            assert body["code"] == "model_load_failed" and "broken.pth" in body["detail"], body
            assert client.post("/api/upscale", files=files).status_code == 200  # the service is fine
    finally:
        server.stop()
