"""Odd but real-world images (tests/imaging/odd_corpus.py) sent to a live service with the bundled weights.

Each upload either gets the 4xx a user should see, with a JSON detail, or an upscaled image of the
right size that keeps alpha, orientation, gray-ness, bit depth and ICC profile as the README says, and
whose colours are as close to what the file shows as the result for a plain PNG of those pixels.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from functools import cache

import httpx
import numpy as np
import pytest
from PIL import Image

from backend.imaging.png_color import PngColor
from tests.api.conftest import Server, start_server
from tests.imaging.imaging_samples import insert_chunk_after_ihdr, photo, png_chunks
from tests.imaging.odd_corpus import Odd, corpus, to_bytes

CHEAP = "realesr-animevideov3"
# x4plus costs ~0.3 s per 40x32 image here (seconds on a busy box): the default model gets a few cases.
ON_X4PLUS = ("jpeg-orientation-6", "jpeg-cmyk-adobe")
SCALE = 4
TIMEOUT = 60  # a hang fails the test instead of stalling the suite

ACCEPTED = [odd for odd in corpus() if odd.status == 200]
REFUSED = [odd for odd in corpus() if odd.status != 200]
CASES = [(odd, CHEAP) for odd in ACCEPTED] + [(odd, "RealESRGAN_x4plus") for odd in ACCEPTED if odd.name in ON_X4PLUS]


@pytest.fixture(scope="module")
def odd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Only the bundled models: no custom weights to build, so no torch in this process.
    models = tmp_path_factory.mktemp("odd-models")
    server = start_server(
        tmp_path_factory.mktemp("odd"), models, DEFAULT_MODEL=CHEAP, TILE="0", QUEUE_SIZE="8", MAX_UPLOAD_MB="2"
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(odd_server: Server) -> Iterator[httpx.Client]:
    with odd_server.client(timeout=TIMEOUT) as client:
        yield client


def upload(http: httpx.Client, data: bytes, filename: str, content_type: str, model: str) -> httpx.Response:
    return http.post("/api/upscale", params={"model": model}, files={"file": (filename, data, content_type)})


def shown(result: Image.Image) -> np.ndarray:
    """The result as 8-bit RGB(A), whatever its mode (16-bit gray included)."""
    if result.mode.startswith("I;16"):
        gray = (np.asarray(result) >> 8).astype(np.uint8)
        return np.dstack([gray, gray, gray])
    return np.asarray(result.convert("RGBA" if result.mode in ("RGBA", "LA", "PA") else "RGB"))


def drift(result: Image.Image, truth: np.ndarray) -> tuple[float, np.ndarray, float]:
    """The result Lanczos-downscaled to the input size against `truth`: mean |error| of the colours
    (weighted by truth's alpha), the mean signed error per channel (a colour shift) and mean |alpha error|."""
    height, width = truth.shape[:2]
    down = np.asarray(Image.fromarray(shown(result)).resize((width, height), Image.Resampling.LANCZOS), float)
    expected = truth.astype(float)
    weight = expected[..., 3:] / 255 if truth.shape[-1] == 4 else np.ones((height, width, 1))
    total = max(float(weight.sum()), 1e-9)
    error = (down[..., :3] - expected[..., :3]) * weight
    alpha = float(np.abs(down[..., 3] - expected[..., 3]).mean()) if truth.shape[-1] == 4 else 0.0
    return float(np.abs(error).sum() / (3 * total)), error.sum(axis=(0, 1)) / total, alpha


@cache
def _plain_result(http: httpx.Client, truth_png: bytes, model: str) -> bytes:
    response = upload(http, truth_png, "plain.png", "image/png", model)
    assert response.status_code == 200, response.text
    return response.content


def plain_drift(http: httpx.Client, odd: Odd, model: str) -> tuple[float, np.ndarray, float]:
    """The same measure for a plain 8-bit PNG of the pixels the odd file shows: what the model itself adds."""
    truth = odd.truth
    assert truth is not None
    planes = truth[..., 0] if odd.gray and truth.shape[-1] == 3 else truth
    if odd.gray and truth.shape[-1] == 4:
        planes = truth[..., [0, 3]]
    data = _plain_result(http, to_bytes(Image.fromarray(np.ascontiguousarray(planes)), "PNG"), model)
    return drift(Image.open(io.BytesIO(data)), truth)


@pytest.mark.parametrize(("odd", "model"), CASES, ids=[f"{odd.name}-{model}" for odd, model in CASES])
def test_odd_image_upscales_as_a_user_expects(http: httpx.Client, odd: Odd, model: str) -> None:
    response = upload(http, odd.data, odd.filename, odd.content_type, model)
    assert response.status_code == 200, response.text
    assert odd.size is not None and odd.truth is not None
    width, height = odd.size[0] * SCALE, odd.size[1] * SCALE
    assert response.headers["x-output-size"] == f"{width}x{height}"  # orientation applied to the size too
    result = Image.open(io.BytesIO(response.content))
    assert result.format == "PNG" and result.size == (width, height)

    has_alpha = odd.truth.shape[-1] == 4
    assert (result.mode in ("RGBA", "LA")) == has_alpha, f"alpha {'lost' if has_alpha else 'invented'}: {result.mode}"
    assert (result.mode in ("L", "LA", "I;16")) == odd.gray, result.mode
    assert response.content[24] == odd.bit_depth  # the PNG's IHDR bit depth
    assert result.info.get("icc_profile") == odd.icc

    error, shift, alpha_error = drift(result, odd.truth)
    plain_error, plain_shift, plain_alpha_error = plain_drift(http, odd, model)
    assert error <= plain_error + odd.slack, f"colours drift {error:.2f} against {plain_error:.2f} for a plain PNG"
    assert np.abs(shift - plain_shift).max() <= max(odd.slack, 1.0), f"colour shift {shift} against {plain_shift}"
    assert alpha_error <= plain_alpha_error + max(odd.slack, 1.0), f"alpha {alpha_error:.2f} vs {plain_alpha_error:.2f}"


@pytest.mark.parametrize("odd", REFUSED, ids=[odd.name for odd in REFUSED])
def test_odd_file_that_cannot_be_upscaled_gets_a_clear_4xx(http: httpx.Client, odd: Odd) -> None:
    response = upload(http, odd.data, odd.filename, odd.content_type, CHEAP)
    assert response.status_code == odd.status, response.text
    body = response.json()
    assert body["code"] == odd.code and isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in response.text
    assert http.get("/api/health/live").status_code == 200  # and the service is still up


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_png_colour_chunks_reach_the_result(http: httpx.Client, fmt: str) -> None:
    """A PNG tagged gAMA 1/1.8 + cHRM (no iCCP), as browsers show it: a PNG result carries the same
    chunks before IDAT, a JPEG one an equivalent ICC profile (backend/imaging/png_color.py)."""
    chunks = [
        (b"gAMA", struct.pack(">I", 55556)),
        (b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 21000, 71000, 15000, 6000)),
    ]
    data = to_bytes(Image.fromarray(photo("chelsea")), "PNG")
    for kind, payload in reversed(chunks):
        data = insert_chunk_after_ihdr(data, kind, payload)
    response = http.post(
        "/api/upscale", params={"model": CHEAP}, data={"format": fmt}, files={"file": ("mac.png", data, "image/png")}
    )
    assert response.status_code == 200, response.text
    if fmt == "png":
        kinds = [kind for kind, _ in png_chunks(response.content)]
        carried = [chunk for chunk in png_chunks(response.content) if chunk[0] in (b"gAMA", b"cHRM", b"sRGB", b"iCCP")]
        assert carried == chunks and max(kinds.index(b"gAMA"), kinds.index(b"cHRM")) < kinds.index(b"IDAT")
    else:
        profile = Image.open(io.BytesIO(response.content)).info["icc_profile"]
        assert profile == PngColor(55556, struct.unpack(">8I", chunks[1][1]), None).profile(gray=False)
