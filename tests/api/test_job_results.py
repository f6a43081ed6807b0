"""Fetching job results the way scripts do: twice, after the file is gone, with made-up ids."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.api.conftest import Server, pattern, png_bytes


def _finished(client: httpx.Client, job_id: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = client.get(f"/api/jobs/{job_id}").json()
        if body["state"] not in ("queued", "running"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def test_a_result_can_be_fetched_twice_until_it_is_deleted(client: httpx.Client) -> None:
    job = client.post("/api/jobs", files={"file": ("p.png", png_bytes(pattern(6)), "image/png")}).json()
    assert _finished(client, job["id"])["state"] == "succeeded"
    first, second = client.get(job["result_url"]), client.get(job["result_url"])
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert client.delete(job["status_url"]).status_code == 200
    gone = client.get(job["result_url"])
    assert (gone.status_code, gone.json()["code"]) == (404, "job_not_found")


def test_a_result_whose_file_has_gone_is_404_like_an_expired_job(client: httpx.Client, server: Server) -> None:
    # The sweep deletes the file a moment before the job is forgotten. Before: 409 job_not_ready,
    # which tells a polling script to wait for a result that will never come.
    job = client.post("/api/jobs", files={"file": ("p.png", png_bytes(pattern(7)), "image/png")}).json()
    assert _finished(client, job["id"])["state"] == "succeeded"
    for path in Path(server.env["JOBS_DIR"]).glob(f"{job['id']}.*"):
        path.unlink()
    response = client.get(job["result_url"])
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "job_not_found"
    assert "expired" in response.json()["detail"]
    client.delete(job["status_url"])


def test_a_huge_made_up_id_is_not_echoed_whole(client: httpx.Client) -> None:
    response = client.get("/api/jobs/" + "a" * 5000)
    assert (response.status_code, response.json()["code"]) == (404, "job_not_found")
    assert len(response.json()["detail"]) < 200
