"""A result the output format cannot hold is refused before the upscale, not after it."""

from __future__ import annotations

import httpx
import numpy as np
from skimage import data as skdata

from tests.api.conftest import png_bytes

# WebP holds at most 16383 px a side: this 4096-wide strip of a photo is fine at 2x, too wide at 4x.
STRIP = np.tile(skdata.astronaut()[200:208], (1, 8, 1))


def work_done(client: httpx.Client) -> float:
    """Tiles computed plus jobs finished, from /metrics: unchanged means no inference ran."""
    total = 0.0
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(("upscale_tiles_total", "upscale_jobs_total")):
            total += float(line.rsplit(" ", 1)[1])
    return total


def post(client: httpx.Client, path: str, **params: str) -> httpx.Response:
    return client.post(path, params=params, files={"file": ("strip.png", png_bytes(STRIP), "image/png")})


def test_too_wide_webp_is_refused_before_any_inference(client: httpx.Client) -> None:
    before = work_done(client)
    response = post(client, "/api/upscale", format="webp", scale="4")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "unsupported_option" and "WEBP cannot hold a 16384x32 image" in body["detail"]
    assert work_done(client) == before


def test_jobs_refuse_a_too_wide_webp_at_once_instead_of_failing_later(client: httpx.Client) -> None:
    before = work_done(client)
    response = post(client, "/api/jobs", format="webp", scale="4")
    assert response.status_code == 422  # not 202 and a job that fails after the upscale
    assert response.json()["code"] == "unsupported_option"
    assert work_done(client) == before


def test_the_same_strip_within_the_limit_is_upscaled(client: httpx.Client) -> None:
    response = post(client, "/api/upscale", format="webp", scale="2")
    assert response.status_code == 200, response.text
    assert response.headers["X-Output-Size"] == "8192x16"
