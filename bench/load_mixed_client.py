"""The mixed clients' connection to the server: each request sent, counted in MixedStats and checked.

Every answer must be one the route may give (200/202, 4xx with JSON `detail` and `code` for bad
input, 503 with Retry-After for overload), never a 500, a hang (the per-request timeout) or a
connection the server dropped. After `server_stopping()` a refused connection is an answer too.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from typing import TypeVar
from urllib.parse import urlparse

import httpx

from bench.load_mixed_inputs import mixed_image
from bench.load_mixed_stats import MixedStats

# A request sent this close to SIGTERM (or after) may meet a connection the server is closing: at
# shutdown uvicorn closes every connection whose request head it has not read yet, and on a busy
# 2-core machine it read a batch's head more than 90 ms after the client sent it (a CI run: 0.05
# s was too tight). Any request sent earlier must still get its answer.
_IN_FLIGHT_SECONDS = 0.25
OVERLOAD_OK = (503,)
_Client = TypeVar("_Client", bound="MixedClient")


class MixedClient:
    """One connection pool to one server, the inputs sent to it and their results taken alone."""

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
        self.random = random.Random(seed)
        self.images = [mixed_image(i, size) for i in range(images)]
        self.reference: list[bytes] = []
        self.stats = MixedStats()
        self.client: httpx.AsyncClient | None = None
        self.stopped_at: float | None = None  # perf_counter() when the server was sent SIGTERM

    # --- set-up ---

    async def __aenter__(self: _Client) -> _Client:
        await self.reconnect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.client is not None
        await self.client.aclose()

    async def reconnect(self) -> None:
        """A new connection pool (closing the old one's kept-alive connections)."""
        if self.client is not None:
            await self.client.aclose()
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
        self.client = httpx.AsyncClient(base_url=self.base, headers=self.headers, timeout=self.timeout, limits=limits)

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

    # --- shutdown ---

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

    # --- checks ---

    def _pick_image(self) -> tuple[int, bytes]:
        index = self.random.randrange(len(self.images))
        return index, self.images[index]

    def _check_same(self, where: str, index: int, result: bytes) -> None:
        """A result under load must be byte-identical to the same image's result taken alone."""
        if self.reference and result != self.reference[index]:
            self.stats.problem(f"{where}: image {index} differs from its solo result")

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

    # --- sending ---

    def _no_answer(self, method: str, route: str, where: str, exc: Exception, started: float) -> None:
        """Count a request that got no HTTP answer, and say why unless the server was shutting down."""
        if isinstance(exc, httpx.TimeoutException):
            self.stats.add(method, route, "timeout")
            self.stats.problem(f"{where}: no answer in {self.timeout:.0f} s ({type(exc).__name__})")
        elif isinstance(exc, (httpx.ConnectError, OSError)):
            self.stats.add(method, route, "refused")
            if not self.stopping:  # after SIGTERM the listener is closed: refused is the answer
                self.stats.problem(f"{where}: connection refused ({exc})")
        elif self._dropped_at_shutdown(started):
            self.stats.add(method, route, "closed-at-shutdown")
        else:
            self.stats.add(method, route, "dropped")
            when = f", sent {started - self.stopped_at:+.3f} s from SIGTERM" if self.stopped_at is not None else ""
            self.stats.problem(f"{where}: connection dropped by the server ({type(exc).__name__}: {exc!r}{when})")

    async def _request(self, method: str, url: str, route: str, where: str, **kwargs) -> httpx.Response | None:
        """Send one request and count its answer under `route` (None: no answer, already counted)."""
        assert self.client is not None
        started = time.perf_counter()
        try:
            response = await self.client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            self._no_answer(method, route, where, exc, started)
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

    async def _post_image(
        self, route: str, where: str, name: str, body: bytes, params: dict, ok: int = 200
    ) -> httpx.Response | None:
        """POST `body` as the form's one file: the answer when it is `ok` (a job queued: counted in
        jobs_seen), else None (no answer, or an error answer already checked; overload is allowed)."""
        response = await self._request(
            "POST", route, route, where, params=params, files={"file": (name, body, "image/png")}
        )
        if response is None:
            return None
        if response.status_code != ok:
            self._check_error(where, response, OVERLOAD_OK)
            return None
        self.stats.jobs_seen += 1
        return response

    async def _raw(self, payload: bytes, read: int | None, route: str) -> None:
        """Open a socket, send `payload`, read `read` bytes (None: nothing) and close: counted as 'gone'."""
        method = payload.split(b" ", 1)[0].decode()
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            self._no_answer(method, route, f"raw {route}", exc, time.perf_counter())
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
        self.stats.add(method, route, "gone")
