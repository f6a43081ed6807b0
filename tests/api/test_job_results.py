"""Fetching job results the way scripts do: twice, after the file is gone, with made-up ids."""

from __future__ import annotations

import asyncio
import json
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


def test_fetching_a_result_while_it_is_deleted_gives_200_or_404_never_a_500_or_a_cut(client: httpx.Client) -> None:
    # The handler used to check the path and hand it to FileResponse, which stats and opens it later:
    # a DELETE in between gave a 500 ("File at path ... does not exist") or, between the stat and the
    # open, a response cut off after its headers.
    jobs = []
    for index in range(48):
        job = client.post("/api/jobs", files={"file": ("p.png", png_bytes(pattern(index, 64)), "image/png")}).json()
        assert _finished(client, job["id"])["state"] == "succeeded"
        jobs.append(job)
    whole = {job["id"]: client.get(job["result_url"]).content for job in jobs}

    async def race() -> list[tuple[str, int | str, bytes]]:
        outcomes: list[tuple[str, int | str, bytes]] = []
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=str(client.base_url), timeout=60, limits=limits) as http:

            async def fetch(job: dict) -> None:
                try:
                    response = await http.get(job["result_url"])
                except httpx.HTTPError as exc:
                    outcomes.append((job["id"], type(exc).__name__, b""))
                    return
                outcomes.append((job["id"], response.status_code, response.content))

            async def delete(job: dict) -> None:
                assert (await http.delete(job["status_url"])).status_code == 200

            await asyncio.gather(*(step(job) for job in jobs for step in (fetch, delete, fetch, fetch)))
        return outcomes

    outcomes = asyncio.run(race())
    assert len(outcomes) == 3 * len(jobs)
    for job_id, status, body in outcomes:
        if status == 200:
            assert body == whole[job_id]
        else:
            assert status == 404, (job_id, status, body[:200])
            assert json.loads(body)["code"] == "job_not_found"
    assert any(status == 200 for _, status, _ in outcomes)
