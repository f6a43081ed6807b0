"""The mixed traffic's well-behaved requests: sync, slow, JSON and batch upscales, health/info/metrics probes."""

from __future__ import annotations

import base64
import functools
import io
import json
import zipfile

import httpx

from bench.load_mixed_client import OVERLOAD_OK, MixedClient
from bench.load_mixed_inputs import mixed_image

_SLOW_SIDE = 96  # the slow upscale's input side, pixels


class UpscaleScenarios(MixedClient):
    """The scenarios on the routes that answer at once (no job to follow)."""

    slow_params: dict | None = None  # slow_upscale's options (None: the scenario is a plain upscale)

    @functools.cached_property
    def slow_image(self) -> bytes:
        return mixed_image(99, _SLOW_SIDE)

    def _check_output_size(self, where: str, response: httpx.Response, side: int) -> None:
        if response.headers.get("x-output-size") != f"{side}x{side}":
            self.stats.problem(f"{where}: X-Output-Size {response.headers.get('x-output-size')}")

    async def sync_upscale(self) -> None:
        index, body = self._pick_image()
        response = await self._post_image("/api/upscale", "upscale", "a.png", body, self.params)
        if response is None:
            return
        self._check_same("upscale", index, response.content)
        if not self.params:  # the default model: x4 (another model's scale is not known here)
            self._check_output_size("upscale", response, self.size * 4)

    async def slow_upscale(self) -> None:
        """An upscale that takes a while (many small tiles), so work waits in the queue."""
        if self.slow_params is None:
            return await self.sync_upscale()
        response = await self._post_image("/api/upscale", "slow-upscale", "slow.png", self.slow_image, self.slow_params)
        if response is None:
            return
        self._check_output_size("slow-upscale", response, round(_SLOW_SIDE * float(self.slow_params.get("scale", 4))))

    async def upscale_info(self) -> None:
        index, body = self._pick_image()
        response = await self._post_image("/api/upscale-info", "upscale-info", "a.png", body, self.params)
        if response is None:
            return
        data = response.json()
        self._check_same("upscale-info", index, base64.b64decode(data["image"].partition(",")[2]))
        if data["info"]["original_size"] != [self.size, self.size]:
            self.stats.problem(f"upscale-info: original_size {data['info']['original_size']}")

    async def batch(self) -> None:
        """Two good images and one that is not: the bad one fails alone, the good ones come back whole."""
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
            self._check_error("batch", response, OVERLOAD_OK)
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
                    self._check_same(f"batch: {name}", index, archive.read(item["output"]))
                elif item["error"]["code"] != "queue_full":
                    self.stats.problem(f"batch: {name} failed with {item['error']}")

    async def probe(self) -> None:
        path = self.random.choice(("/api/health", "/api/health/live", "/api/health/ready", "/api/info", "/metrics"))
        method = self.random.choice(("GET", "HEAD"))
        response = await self._request(method, path, path, f"{method} {path}")
        if response is not None and self.stopping and path == "/api/health/ready" and response.status_code == 503:
            return  # not ready while shutting down: what a load balancer needs to see
        if response is not None and response.status_code != 200:
            self.stats.problem(f"{method} {path}: {response.status_code}")
