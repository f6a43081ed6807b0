"""The mixed traffic's jobs: created, then polled, streamed, raced against DELETE, cancelled or left mid-stream."""

from __future__ import annotations

import asyncio
import time

import httpx

from bench.load_mixed_client import MixedClient
from bench.load_mixed_inputs import raw_request

_JOB = "/api/jobs/{job_id}"
_RESULT = "/api/jobs/{job_id}/result"
_EVENTS = "/api/jobs/{job_id}/events"


class JobScenarios(MixedClient):
    """The scenarios on /api/jobs: every job they create is deleted again (or cancelled)."""

    async def _create_job(self, where: str) -> tuple[str, int] | None:
        """A job for a random image: (its id, the image's index), or None if it was not queued."""
        index, body = self._pick_image()
        response = await self._post_image("/api/jobs", where, "j.png", body, self.params, ok=202)
        return None if response is None else (response.json()["id"], index)

    async def _wait_for_job(self, where: str, job_id: str, poll_s: float) -> httpx.Response | None:
        """Poll the job until it is no longer queued or running: its last status answer (None: no
        answer, or still going after the timeout, which is a problem)."""
        deadline = time.monotonic() + self.timeout
        while True:
            status = await self._request("GET", f"/api/jobs/{job_id}", _JOB, where)
            if status is None or status.status_code != 200:
                return status
            state = status.json()["state"]
            if state not in ("queued", "running"):
                return status
            if time.monotonic() > deadline:
                self.stats.problem(f"{where}: job {job_id} still {state} after {self.timeout:.0f} s")
                return None
            await asyncio.sleep(poll_s)

    async def _delete_job(self, where: str, job_id: str) -> None:
        deleted = await self._request("DELETE", f"/api/jobs/{job_id}", _JOB, where)
        if deleted is not None and deleted.status_code != 200:
            self.stats.problem(f"{where}: DELETE gave {deleted.status_code}")

    async def _fetch_and_delete(self, where: str, job_id: str, index: int) -> None:
        """The finished job's result, then DELETE: the job must be gone (404 with JSON) after."""
        url = f"/api/jobs/{job_id}"
        result = await self._request("GET", f"{url}/result", _RESULT, where)
        if result is not None:
            if result.status_code == 200:
                self._check_same(f"{where} job result", index, result.content)
            elif not (self.stopping and "job_cancelled" in result.text):
                self.stats.problem(f"{where}: result {result.status_code} {result.text[:200]!r}")
        await self._delete_job(where, job_id)
        gone = await self._request("GET", url, _JOB, where)
        if gone is not None and gone.status_code != 404:
            self.stats.problem(f"{where}: job still there after DELETE: {gone.status_code}")
        elif gone is not None:
            self._check_error(where, gone, (404,))

    async def job_poll(self) -> None:
        created = await self._create_job("job-poll")
        if created is None:
            return
        job_id, index = created
        status = await self._wait_for_job("job-poll", job_id, 0.05)
        if status is None:
            return  # already counted as a problem, unless the server has shut down
        if status.status_code != 200:
            self.stats.problem(f"job-poll: poll gave {status.status_code}")
            return
        state = status.json()["state"]
        if state != "succeeded" and not (self.stopping and state == "cancelled"):
            self.stats.problem(f"job-poll: job ended {state}: {status.json().get('error')}")
        await self._fetch_and_delete("job-poll", job_id, index)

    async def job_sse(self) -> None:
        """Follow the job's event stream to its `done` event."""
        created = await self._create_job("job-sse")
        if created is None:
            return
        job_id, index = created
        assert self.client is not None
        events: list[str] = []
        started = time.perf_counter()
        try:
            async with self.client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
                status = stream.status_code
                async for line in stream.aiter_lines():
                    if line.startswith("event:"):
                        events.append(line[6:].strip())
        except httpx.HTTPError as exc:
            self._no_answer("GET", _EVENTS, "job-sse", exc, started)
            return
        self.stats.add("GET", _EVENTS, status, time.perf_counter() - started)
        if status != 200 or not events or events[-1] != "done":
            self.stats.problem(f"job-sse: status {status}, events {events[-3:]}")
            return
        await self._fetch_and_delete("job-sse", job_id, index)

    async def job_result_race(self) -> None:
        """Fetch a finished job's result while another request DELETEs it: each fetch gets the
        whole image (200) or 404, never a 500 or a cut connection."""
        created = await self._create_job("job-race")
        if created is None:
            return
        job_id, index = created
        if await self._wait_for_job("job-race", job_id, 0.02) is None:
            return

        async def fetch() -> None:
            result = await self._request("GET", f"/api/jobs/{job_id}/result", _RESULT, "job-race result")
            if result is None:
                return
            if result.status_code == 200:
                self._check_same("job-race result", index, result.content)
            elif not (self.stopping and "job_cancelled" in result.text):
                self._check_error("job-race result", result, (404,))

        await asyncio.gather(fetch(), self._delete_job("job-race", job_id), fetch())

    async def job_cancel(self) -> None:
        """DELETE a job while it waits or runs: then it is gone, result and all, and a second DELETE is a 404."""
        created = await self._create_job("job-cancel")
        if created is None:
            return
        job_id, _ = created
        await asyncio.sleep(self.random.choice((0.0, 0.01, 0.05, 0.2)))
        url = f"/api/jobs/{job_id}"
        await self._delete_job("job-cancel", job_id)
        for path, route in ((url, _JOB), (f"{url}/result", _RESULT)):
            gone = await self._request("GET", path, route, "job-cancel")
            if gone is not None:
                self._check_error("job-cancel after DELETE", gone, (404,))
        again = await self._request("DELETE", url, _JOB, "job-cancel")
        if again is not None:
            self._check_error("job-cancel second DELETE", again, (404,))

    async def disconnect_sse(self) -> None:
        """Read the start of a job's event stream, leave, then DELETE the job."""
        created = await self._create_job("disconnect-sse")
        if created is None:
            return
        job_id, _ = created
        await self._raw(raw_request("GET", f"/api/jobs/{job_id}/events", self.host, self.headers), 64, _EVENTS)
        await self._delete_job("disconnect-sse", job_id)
