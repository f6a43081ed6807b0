"""A corpus of bad inputs: each gets its 4xx and a JSON {detail, code}, before any inference."""

from __future__ import annotations

import struct
import zlib

import httpx
import numpy as np
import pytest

from tests.api.conftest import pattern, png_bytes


def _png_header_only(width: int, height: int) -> bytes:
    """A valid PNG whose header claims a huge size but carries almost no data: a decompression bomb."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(1024), 9)  # a sliver of the claimed pixels
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _noise(size: int) -> np.ndarray:
    return np.random.default_rng(size).integers(0, 256, (size, size, 3), dtype=np.uint8)


GOOD = png_bytes(pattern(1))

CASES = [
    # (id, file bytes, query params, status, code)
    ("empty", b"", {}, 400, "empty_upload"),
    ("text", b"hello, I am not an image\n" * 10, {}, 415, "invalid_image"),
    ("truncated-png", GOOD[: len(GOOD) // 2], {}, 422, "truncated_image"),
    ("bomb-header", _png_header_only(100_000, 100_000), {}, 413, "decompression_bomb"),
    ("too-many-pixels", png_bytes(_noise(400)), {}, 413, "image_too_large"),
    ("output-too-large", png_bytes(_noise(256)), {"scale": "8"}, 413, "output_too_large"),
    ("scale-zero", GOOD, {"scale": "0"}, 422, "unsupported_option"),
    ("scale-negative", GOOD, {"scale": "-2"}, 422, "unsupported_option"),
    ("scale-text", GOOD, {"scale": "big"}, 422, "validation_error"),
    ("scale-nan", GOOD, {"scale": "nan"}, 422, "unsupported_option"),
    ("scale-inf", GOOD, {"scale": "inf"}, 422, "unsupported_option"),
    ("scale-overflows-float", GOOD, {"scale": "1e309"}, 422, "unsupported_option"),
    ("scale-over-max", GOOD, {"scale": "64"}, 422, "unsupported_option"),
    ("scale-below-one", GOOD, {"scale": "0.5"}, 422, "unsupported_option"),
    ("format-gif", GOOD, {"format": "gif"}, 422, "unsupported_option"),
    ("quality-zero", GOOD, {"format": "jpeg", "quality": "0"}, 422, "unsupported_option"),
    ("tile-too-small", GOOD, {"tile": "3"}, 422, "unsupported_option"),
    ("tile-negative", GOOD, {"tile": "-1"}, 422, "unsupported_option"),
    ("denoise-nan", GOOD, {"denoise_strength": "nan"}, 422, "unsupported_option"),
    ("denoise-on-wrong-model", GOOD, {"denoise_strength": "0.5"}, 422, "unsupported_option"),
    ("unknown-model", GOOD, {"model": "no-such-model"}, 404, "model_not_found"),
    ("path-trick-model", GOOD, {"model": "../../etc/passwd"}, 422, "invalid_model_name"),
    ("path-trick-model-2", GOOD, {"model": "..%2F..%2Fweights"}, 422, "invalid_model_name"),
]


@pytest.mark.parametrize(("data", "params", "status", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("endpoint", ["/api/upscale", "/api/jobs"])
def test_bad_input_gets_its_4xx(
    client: httpx.Client, endpoint: str, data: bytes, params: dict, status: int, code: str
) -> None:
    response = client.post(endpoint, params=params, files={"file": ("upload.png", data, "image/png")})
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in response.text


def test_too_large_upload_is_413_before_parsing(client: httpx.Client) -> None:
    blob = b"\x89PNG\r\n\x1a\n" + bytes(2 * 1024 * 1024)
    response = client.post("/api/upscale", files={"file": ("big.png", blob, "image/png")})
    assert response.status_code == 413
    assert response.json()["code"] == "upload_too_large"


def test_chunked_upload_over_the_limit_is_413(client: httpx.Client) -> None:
    def body():  # no Content-Length: the cap must hold while the body streams in
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\n\r\n'
        for _ in range(40):
            yield bytes(64 * 1024)
        yield b"\r\n--b--\r\n"

    response = client.post("/api/upscale", content=body(), headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413
    assert response.json()["code"] == "upload_too_large"


def test_missing_file_field_is_422(client: httpx.Client) -> None:
    response = client.post("/api/upscale", data={"scale": "2"})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_file_part_without_a_filename_says_how_to_send_a_file(client: httpx.Client) -> None:
    # What `curl -F 'file=<photo.png'` sends: the part's content, but no filename.
    # The `model` part only makes httpx send multipart; an unknown field would be a 422 of its own.
    response = client.post("/api/upscale", data={"file": "not a file"}, files={"model": (None, "tiny")})
    assert response.status_code == 422
    assert "must be a file upload with a filename" in response.json()["detail"]


def test_not_multipart_is_422(client: httpx.Client) -> None:
    response = client.post("/api/upscale", content=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_unknown_route_and_method_are_json(client: httpx.Client) -> None:
    missing = client.get("/api/nope")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    wrong = client.get("/api/upscale")
    assert (wrong.status_code, wrong.json()["code"]) == (405, "method_not_allowed")
