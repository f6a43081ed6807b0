"""The mixed-traffic driver (--mixed) and what its clients saw: every endpoint at once, odd
clients, bad input, each answer checked as it returns."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import statistics
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

import httpx
import numpy as np
from PIL import Image

# --- mixed traffic (--mixed): every endpoint at once, odd clients, bad input, then leak checks ---
#
# Every request is checked as it returns: its status must be one the route may give (200/202,
# 4xx with JSON `detail` for bad input, 503 with Retry-After for overload), never a 500, a hang
# (the per-request timeout) or a connection the server dropped. Good results are compared byte
# for byte with the same input's result taken alone before the load. After each round the
# queue gauges must fall back to 0, the server's request counters must equal what the clients
# saw, and the process's threads, descriptors, temp files and job files must return to where
# they were; RSS is recorded per round.

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A request sent this close to SIGTERM (or after) may meet a connection the server is closing: at
# shutdown uvicorn closes every connection whose request head it has not read yet, and on a busy
# 2-core machine it read a batch's head more than 90 ms after the client sent it (a CI run: 0.05
# s was too tight). Any request sent earlier must still get its answer.
_IN_FLIGHT_SECONDS = 0.25
_OVERLOAD_OK = (503,)


def _mixed_image(index: int, size: int) -> bytes:
    rng = np.random.default_rng(1000 + index)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _huge_png_header() -> bytes:
    """A small, well-formed PNG whose header claims 60000 x 60000 pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    return _PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")


@dataclass
class MixedStats:
    """What the clients saw: counts by (method, route template, status), latencies, problems."""

    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    scenarios: dict[str, int] = field(default_factory=dict)
    jobs_seen: int = 0  # jobs the clients know were queued: 200 upscales, batch files done, 202 jobs

    def add(self, method: str, route: str, status: int | str, seconds: float | None = None) -> None:
        key = (method, route, str(status))
        self.counts[key] = self.counts.get(key, 0) + 1
        if seconds is not None and status in (200, 202):
            self.latencies.setdefault(f"{method} {route}", []).append(seconds)

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def by_status(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (_, _, status), n in self.counts.items():
            out[status] = out.get(status, 0) + n
        return dict(sorted(out.items()))

    def summary(self) -> dict:
        lat = {
            name: {
                "n": len(v),
                "p50_s": round(statistics.median(v), 4),
                "p95_s": round(float(np.percentile(v, 95)), 4),
            }
            for name, v in sorted(self.latencies.items())
        }
        return {
            "requests": sum(self.counts.values()),
            "jobs_seen": self.jobs_seen,
            "by_status": self.by_status(),
            "scenarios": dict(sorted(self.scenarios.items())),
            "latency": lat,
            "problems": self.problems[:50],
            "problem_count": len(self.problems),
        }


class MixedDriver:
    """Drives one server with a random mix of scenarios from `clients` concurrent tasks."""

    def __init__(
        self,
        base: str,
        *,
        headers: dict | None = None,
        model: str | None = None,
        size: int = 24,
        seed: int = 0,
        timeout: float = 120.0,
        images: int = 4,
    ) -> None:
        self.base = base.rstrip("/")
        parsed = urlparse(self.base)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.headers = dict(headers or {})
        self.params = {"model": model} if model else {}
        self.size = size
        self.timeout = timeout
        self.random = __import__("random").Random(seed)
        self.images = [_mixed_image(i, size) for i in range(images)]
        self.reference: list[bytes] = []
        self.stats = MixedStats()
        self.client: httpx.AsyncClient | None = None
        self.stopped_at: float | None = None  # perf_counter() when the server was sent SIGTERM
        self.scenarios = dict(self.SCENARIOS)  # name -> weight; set a weight to 0 to leave one out
        self.slow_params: dict | None = None  # slow_upscale's options (None: scenario off)
        self.slow_image = _mixed_image(99, 96)

    @property
    def stopping(self) -> bool:
        return self.stopped_at is not None

    def server_stopping(self) -> None:
        """Call as the server is sent SIGTERM: from now on a refused connection is an answer, and so
        is a dropped one sent at about the same moment (the server closes idle kept-alive connections,
        and a request already on its way on one of them is lost: clients retry those)."""
        self.stopped_at = time.perf_counter()

    def _dropped_at_shutdown(self, started: float) -> bool:
        return self.stopped_at is not None and started > self.stopped_at - _IN_FLIGHT_SECONDS

    # --- set-up ---

    async def __aenter__(self) -> MixedDriver:
        await self.reconnect()
        return self

    async def reconnect(self) -> None:
        """A new connection pool (closing the old one's kept-alive connections)."""
        if self.client is not None:
            await self.client.aclose()
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
        self.client = httpx.AsyncClient(base_url=self.base, headers=self.headers, timeout=self.timeout, limits=limits)

    async def __aexit__(self, *exc: object) -> None:
        assert self.client is not None
        await self.client.aclose()

    async def references(self) -> None:
        """Each image's result, one request at a time (nothing else running)."""
        assert self.client is not None
        self.reference = []
        for index, body in enumerate(self.images):
            response = await self.client.post(
                "/api/upscale", params=self.params, files={"file": (f"r{index}.png", body, "image/png")}
            )
            if response.status_code != 200:
                raise RuntimeError(f"reference {index}: {response.status_code} {response.text[:200]}")
            self.reference.append(response.content)

    # --- checks ---

    def _check_error(self, where: str, response: httpx.Response, allowed: tuple[int, ...]) -> bool:
        """A non-2xx answer: an allowed status, JSON {detail, code}, Retry-After on a 503."""
        status = response.status_code
        if status >= 500 and status != 503:
            return False  # _request reported it already
        if status not in allowed:
            self.stats.problem(f"{where}: unexpected {status} {response.text[:200]!r}")
            return False
        try:
            body = response.json()
        except ValueError:
            self.stats.problem(f"{where}: {status} without JSON: {response.text[:200]!r}")
            return False
        if not isinstance(body, dict) or not body.get("detail") or not body.get("code"):
            self.stats.problem(f"{where}: {status} JSON without detail/code: {body!r:.200}")
            return False
        if status == 503 and not response.headers.get("retry-after", "").isdigit():
            self.stats.problem(f"{where}: 503 without a numeric Retry-After")
            return False
        return True

    async def _request(self, method: str, url: str, route: str, where: str, **kwargs) -> httpx.Response | None:
        assert self.client is not None
        started = time.perf_counter()
        try:
            response = await self.client.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            self.stats.add(method, route, "timeout")
            self.stats.problem(f"{where}: no answer in {self.timeout:.0f} s ({type(exc).__name__})")
            return None
        except httpx.ConnectError as exc:
            self.stats.add(method, route, "refused")
            if not self.stopping:  # after SIGTERM the listener is closed: refused is the answer
                self.stats.problem(f"{where}: connection refused ({exc})")
            return None
        except httpx.HTTPError as exc:
            if self._dropped_at_shutdown(started):
                self.stats.add(method, route, "closed-at-shutdown")
                return None
            self.stats.add(method, route, "dropped")
            when = f", sent {started - self.stopped_at:+.3f} s from SIGTERM" if self.stopped_at is not None else ""
            self.stats.problem(f"{where}: connection dropped by the server ({type(exc).__name__}: {exc!r}{when})")
            return None
        self.stats.add(method, route, response.status_code, time.perf_counter() - started)
        if (
            self.stopping
            and response.status_code == 503
            and route != "/api/health/ready"
            and not re.search("shutting_down|queue_full", response.text)
        ):
            self.stats.problem(f"{where}: 503 during shutdown: {response.text[:200]!r}")
        if response.status_code >= 500 and response.status_code != 503:
            self.stats.problem(f"{where}: {response.status_code} {response.text[:200]!r}")
        return response

    def _pick_image(self) -> tuple[int, bytes]:
        index = self.random.randrange(len(self.images))
        return index, self.images[index]

    # --- scenarios ---

    async def sync_upscale(self) -> None:
        index, body = self._pick_image()
        response = await self._request(
            "POST",
            "/api/upscale",
            "/api/upscale",
            "upscale",
            params=self.params,
            files={"file": ("a.png", body, "image/png")},
        )
        if response is None:
            return
        if response.status_code == 200:
            self.stats.jobs_seen += 1
            if self.reference and response.content != self.reference[index]:
                self.stats.problem(f"upscale: image {index} differs from its solo result")
            side = self.size * 4 if not self.params else None
            if side and response.headers.get("x-output-size") != f"{side}x{side}":
                self.stats.problem(f"upscale: X-Output-Size {response.headers.get('x-output-size')}")
        else:
            self._check_error("upscale", response, _OVERLOAD_OK)

    async def slow_upscale(self) -> None:
        """An upscale that takes a while (many small tiles), so work waits in the queue."""
        if self.slow_params is None:
            return await self.sync_upscale()
        response = await self._request(
            "POST",
            "/api/upscale",
            "/api/upscale",
            "slow-upscale",
            params=self.slow_params,
            files={"file": ("slow.png", self.slow_image, "image/png")},
        )
        if response is None:
            return
        if response.status_code == 200:
            self.stats.jobs_seen += 1
            scale = float(self.slow_params.get("scale", 4))
            side = round(96 * scale)
            if response.headers.get("x-output-size") != f"{side}x{side}":
                self.stats.problem(f"slow-upscale: X-Output-Size {response.headers.get('x-output-size')}")
        else:
            self._check_error("slow-upscale", response, _OVERLOAD_OK)

    async def upscale_info(self) -> None:
        index, body = self._pick_image()
        response = await self._request(
            "POST",
            "/api/upscale-info",
            "/api/upscale-info",
            "upscale-info",
            params=self.params,
            files={"file": ("a.png", body, "image/png")},
        )
        if response is None:
            return
        if response.status_code != 200:
            self._check_error("upscale-info", response, _OVERLOAD_OK)
            return
        import base64

        self.stats.jobs_seen += 1
        data = response.json()
        image = base64.b64decode(data["image"].partition(",")[2])
        if self.reference and image != self.reference[index]:
            self.stats.problem(f"upscale-info: image {index} differs from its solo result")
        if data["info"]["original_size"] != [self.size, self.size]:
            self.stats.problem(f"upscale-info: original_size {data['info']['original_size']}")

    async def batch(self) -> None:
        import zipfile

        first, second = self._pick_image(), self._pick_image()
        files = [
            ("files", ("one.png", first[1], "image/png")),
            ("files", ("bad.png", b"not an image at all", "image/png")),
            ("files", ("two.png", second[1], "image/png")),
        ]
        response = await self._request(
            "POST", "/api/upscale-batch", "/api/upscale-batch", "batch", params=self.params, files=files
        )
        if response is None:
            return
        if response.status_code != 200:
            self._check_error("batch", response, _OVERLOAD_OK)
            return
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            report = json.loads(archive.read("report.json"))
            items = {item["filename"]: item for item in report["files"]}
            if items["bad.png"]["ok"] or items["bad.png"]["error"]["code"] != "invalid_image":
                self.stats.problem(f"batch: bad file reported as {items['bad.png']}")
            for name, (index, _) in (("one.png", first), ("two.png", second)):
                item = items[name]
                if item["ok"]:
                    self.stats.jobs_seen += 1
                    if self.reference and archive.read(item["output"]) != self.reference[index]:
                        self.stats.problem(f"batch: {name} (image {index}) differs from its solo result")
                elif item["error"]["code"] != "queue_full":
                    self.stats.problem(f"batch: {name} failed with {item['error']}")

    async def _create_job(self, where: str) -> tuple[str, int] | None:
        index, body = self._pick_image()
        response = await self._request(
            "POST", "/api/jobs", "/api/jobs", where, params=self.params, files={"file": ("j.png", body, "image/png")}
        )
        if response is None:
            return None
        if response.status_code != 202:
            self._check_error(where, response, _OVERLOAD_OK)
            return None
        self.stats.jobs_seen += 1
        return response.json()["id"], index

    async def _fetch_and_delete(self, where: str, job_id: str, index: int) -> None:
        url = f"/api/jobs/{job_id}"
        result = await self._request("GET", f"{url}/result", "/api/jobs/{job_id}/result", where)
        if result is not None:
            if result.status_code == 200:
                if self.reference and result.content != self.reference[index]:
                    self.stats.problem(f"{where}: job result (image {index}) differs from its solo result")
            elif not (self.stopping and "job_cancelled" in result.text):
                self.stats.problem(f"{where}: result {result.status_code} {result.text[:200]!r}")
        deleted = await self._request("DELETE", url, "/api/jobs/{job_id}", where)
        if deleted is not None and deleted.status_code != 200:
            self.stats.problem(f"{where}: DELETE after the result: {deleted.status_code}")
        gone = await self._request("GET", url, "/api/jobs/{job_id}", where)
        if gone is not None and gone.status_code != 404:
            self.stats.problem(f"{where}: job still there after DELETE: {gone.status_code}")
        elif gone is not None:
            self._check_error(where, gone, (404,))

    async def job_poll(self) -> None:
        created = await self._create_job("job-poll")
        if created is None:
            return
        job_id, index = created
        deadline = time.monotonic() + self.timeout
        while True:
            status = await self._request("GET", f"/api/jobs/{job_id}", "/api/jobs/{job_id}", "job-poll")
            if status is None:
                return  # already counted as a problem, unless the server has shut down
            if status.status_code != 200:
                self.stats.problem(f"job-poll: poll gave {status.status_code}")
                return
            state = status.json()["state"]
            if state in ("succeeded", "failed", "cancelled"):
                break
            if time.monotonic() > deadline:
                self.stats.problem(f"job-poll: job {job_id} still {state} after {self.timeout:.0f} s")
                return
            await asyncio.sleep(0.05)
        if state != "succeeded" and not (self.stopping and state == "cancelled"):
            self.stats.problem(f"job-poll: job ended {state}: {status.json().get('error')}")
        await self._fetch_and_delete("job-poll", job_id, index)

    async def job_sse(self) -> None:
        created = await self._create_job("job-sse")
        if created is None:
            return
        job_id, index = created
        assert self.client is not None
        route = "/api/jobs/{job_id}/events"
        events: list[str] = []
        started = time.perf_counter()
        try:
            async with self.client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
                status = stream.status_code
                async for line in stream.aiter_lines():
                    if line.startswith("event:"):
                        events.append(line[6:].strip())
        except httpx.TimeoutException:
            self.stats.add("GET", route, "timeout")
            self.stats.problem(f"job-sse: stream of {job_id} hung")
            return
        except httpx.ConnectError:
            self.stats.add("GET", route, "refused")
            if not self.stopping:
                self.stats.problem("job-sse: connection refused")
            return
        except httpx.HTTPError as exc:
            if self._dropped_at_shutdown(started):
                self.stats.add("GET", route, "closed-at-shutdown")
                return
            self.stats.add("GET", route, "dropped")
            self.stats.problem(f"job-sse: stream dropped ({type(exc).__name__}: {exc})")
            return
        self.stats.add("GET", route, status, time.perf_counter() - started)
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
        url = f"/api/jobs/{job_id}"
        deadline = time.monotonic() + self.timeout
        while True:
            status = await self._request("GET", url, "/api/jobs/{job_id}", "job-race")
            if status is None or status.status_code != 200 or status.json()["state"] not in ("queued", "running"):
                break
            if time.monotonic() > deadline:
                self.stats.problem(f"job-race: job {job_id} not finished after {self.timeout:.0f} s")
                return
            await asyncio.sleep(0.02)

        async def fetch() -> None:
            result = await self._request("GET", f"{url}/result", "/api/jobs/{job_id}/result", "job-race result")
            if result is None:
                return
            if result.status_code == 200:
                if self.reference and result.content != self.reference[index]:
                    self.stats.problem(f"job-race: result (image {index}) differs from its solo result")
            elif not (self.stopping and "job_cancelled" in result.text):
                self._check_error("job-race result", result, (404,))

        async def delete() -> None:
            deleted = await self._request("DELETE", url, "/api/jobs/{job_id}", "job-race")
            if deleted is not None and deleted.status_code != 200:
                self.stats.problem(f"job-race: DELETE gave {deleted.status_code}")

        await asyncio.gather(fetch(), delete(), fetch())

    async def job_cancel(self) -> None:
        created = await self._create_job("job-cancel")
        if created is None:
            return
        job_id, _ = created
        await asyncio.sleep(self.random.choice((0.0, 0.01, 0.05, 0.2)))
        url = f"/api/jobs/{job_id}"
        deleted = await self._request("DELETE", url, "/api/jobs/{job_id}", "job-cancel")
        if deleted is not None and deleted.status_code != 200:
            self.stats.problem(f"job-cancel: DELETE gave {deleted.status_code}")
        for path, route in ((url, "/api/jobs/{job_id}"), (f"{url}/result", "/api/jobs/{job_id}/result")):
            gone = await self._request("GET", path, route, "job-cancel")
            if gone is not None:
                self._check_error("job-cancel after DELETE", gone, (404,))
        again = await self._request("DELETE", url, "/api/jobs/{job_id}", "job-cancel")
        if again is not None:
            self._check_error("job-cancel second DELETE", again, (404,))

    async def _raw(self, payload: bytes, read: int | None, route: str) -> None:
        """Open a socket, send `payload`, read `read` bytes (None: nothing) and close."""
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            self.stats.add("POST" if payload.startswith(b"POST") else "GET", route, "refused")
            if not self.stopping:
                self.stats.problem(f"raw {route}: connect failed ({exc})")
            return
        try:
            writer.write(payload)
            await writer.drain()
            if read:
                await asyncio.wait_for(reader.read(read), self.timeout)
            else:
                await asyncio.sleep(self.random.choice((0.0, 0.05, 0.3)))
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        self.stats.add("POST" if payload.startswith(b"POST") else "GET", route, "gone")

    def _multipart(self, body: bytes, path: str, field_name: str = "file") -> bytes:
        boundary = "stressboundary"
        part = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; filename="x.png"\r\n'
                f"Content-Type: image/png\r\n\r\n"
            ).encode()
            + body
            + f"\r\n--{boundary}--\r\n".encode()
        )
        query = ("?" + "&".join(f"{k}={v}" for k, v in self.params.items())) if self.params else ""
        head = (
            f"POST {path}{query} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(part)}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
            + "\r\n"
        ).encode()
        return head + part

    async def disconnect_upload(self) -> None:
        path = self.random.choice(("/api/upscale", "/api/jobs", "/api/upscale-info"))
        request = self._multipart(self._pick_image()[1], path)
        await self._raw(request[: len(request) * 2 // 3], None, path)

    async def disconnect_response(self) -> None:
        path = self.random.choice(("/api/upscale", "/api/upscale-info", "/api/upscale-batch"))
        field_name = "files" if path.endswith("batch") else "file"
        request = self._multipart(self._pick_image()[1], path, field_name)
        # Either leave while the job waits or runs, or after the first bytes of the answer.
        await self._raw(request, self.random.choice((None, 12)), path)

    async def disconnect_sse(self) -> None:
        created = await self._create_job("disconnect-sse")
        if created is None:
            return
        job_id, _ = created
        request = f"GET /api/jobs/{job_id}/events HTTP/1.1\r\nHost: {self.host}\r\n".encode()
        request += "".join(f"{k}: {v}\r\n" for k, v in self.headers.items()).encode() + b"\r\n"
        await self._raw(request, 64, "/api/jobs/{job_id}/events")
        deleted = await self._request("DELETE", f"/api/jobs/{job_id}", "/api/jobs/{job_id}", "disconnect-sse")
        if deleted is not None and deleted.status_code != 200:
            self.stats.problem(f"disconnect-sse: DELETE gave {deleted.status_code}")

    async def bad_input(self) -> None:
        good = self.images[0]
        kind = self.random.choice(("garbage", "truncated", "huge", "empty", "scale", "model"))
        body, params, allowed = {
            "garbage": (os.urandom(500), self.params, (415,)),
            "truncated": (good[: len(good) // 2], self.params, (415, 422)),
            "huge": (_huge_png_header(), self.params, (413,)),
            "empty": (b"", self.params, (400,)),
            "scale": (good, {**self.params, "scale": "1e309"}, (422,)),
            "model": (good, {**self.params, "model": "no-such-model"}, (404,)),
        }[kind]
        path = self.random.choice(("/api/upscale", "/api/upscale-info", "/api/jobs"))
        response = await self._request(
            "POST", path, path, f"bad-{kind} {path}", params=params, files={"file": ("b.png", body, "image/png")}
        )
        if response is not None:
            # Overload may come first: the queue is checked before the upload is read.
            self._check_error(f"bad-{kind} {path}", response, allowed + _OVERLOAD_OK)

    async def big_upload(self) -> None:
        """1.1 MB, past the multipart parser's 1 MiB in memory, so the upload spools to a temp file:
        sent whole (415, or 413 under MAX_UPLOAD_MB=1) or cut off half-way. Kept under 1 MB plus
        the server's multipart slack: a body declared over the limit is refused before routing (the
        server still counts it under the route's template)."""
        body = self.random.randbytes(1_100_000)
        path = self.random.choice(("/api/upscale", "/api/jobs", "/api/upscale-info"))
        if self.random.random() < 0.5:
            request = self._multipart(body, path)
            await self._raw(request[: len(request) // 2], None, path)
            return
        response = await self._request(
            "POST", path, path, f"big-upload {path}", params=self.params, files={"file": ("big.png", body, "image/png")}
        )
        if response is not None:
            self._check_error(f"big-upload {path}", response, (413, 415, *_OVERLOAD_OK))

    async def probe(self) -> None:
        path = self.random.choice(("/api/health", "/api/health/live", "/api/health/ready", "/api/info", "/metrics"))
        method = self.random.choice(("GET", "HEAD"))
        response = await self._request(method, path, path, f"{method} {path}")
        if response is not None and self.stopping and path == "/api/health/ready" and response.status_code == 503:
            return  # not ready while shutting down: what a load balancer needs to see
        if response is not None and response.status_code != 200:
            self.stats.problem(f"{method} {path}: {response.status_code}")

    SCENARIOS = (
        ("sync_upscale", 6),
        ("slow_upscale", 1),
        ("upscale_info", 3),
        ("batch", 2),
        ("job_poll", 3),
        ("job_sse", 3),
        ("job_cancel", 3),
        ("job_result_race", 2),
        ("disconnect_upload", 2),
        ("disconnect_response", 2),
        ("disconnect_sse", 1),
        ("bad_input", 4),
        ("big_upload", 1),
        ("probe", 4),
    )

    async def round(self, clients: int, scenarios: int, stop: asyncio.Event | None = None) -> None:
        """`scenarios` random scenarios from `clients` tasks; each task stops early once `stop` is set."""
        names = [name for name, weight in self.scenarios.items() for _ in range(weight)]
        plan = [self.random.choice(names) for _ in range(scenarios)]
        queue: asyncio.Queue[str] = asyncio.Queue()
        for name in plan:
            queue.put_nowait(name)

        async def worker() -> None:
            while stop is None or not stop.is_set():
                try:
                    name = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                self.stats.scenarios[name] = self.stats.scenarios.get(name, 0) + 1
                try:
                    await asyncio.wait_for(getattr(self, name)(), self.timeout * 2)
                except asyncio.TimeoutError:
                    self.stats.problem(f"{name}: scenario did not finish in {self.timeout * 2:.0f} s")
                except Exception as exc:  # a check that could not even parse the answer
                    self.stats.problem(f"{name}: {type(exc).__name__}: {exc}")

        await asyncio.gather(*(worker() for _ in range(clients)))
