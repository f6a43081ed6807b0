"""What an attacker can send: odd names, odd HTTP methods, and small files that are expensive to decode."""

from __future__ import annotations

import asyncio
import io
import socket
import struct
import time
import zipfile
from urllib.parse import urlsplit

import httpx
import numpy as np
from PIL import Image

from backend.imaging import decode_image
from backend.imaging.decode import MAX_COUNTED_FRAMES
from backend.imaging.limits import MAX_JPEG_SCANS
from tests.api.conftest import Server, pattern, png_bytes

GOOD = png_bytes(pattern(2))


# ----------------------------------------------------------------------------- names


def test_a_model_name_with_a_trailing_newline_is_invalid(client: httpx.Client) -> None:
    # Before: `^...$` with re.match let "tiny\n" through validation (a 404 "unknown model").
    for name in ("tiny\n", "tiny\r\n"):
        response = client.post("/api/upscale", params={"model": name}, files={"file": ("a.png", GOOD, "image/png")})
        assert response.status_code == 422, (name, response.text)
        assert response.json()["code"] == "invalid_model_name"
    assert client.get("/api/models/tiny%0A/onnx").json()["code"] == "invalid_model_name"


def test_a_huge_model_name_is_not_echoed_whole(client: httpx.Client) -> None:
    response = client.post("/api/upscale", params={"model": "a" * 5000}, files={"file": ("a.png", GOOD, "image/png")})
    assert response.status_code == 422
    assert len(response.json()["detail"]) < 300


def test_batch_zip_names_differ_when_unpacked_on_a_case_insensitive_disk(client: httpx.Client) -> None:
    # Before: photo_upscaled.png and PHOTO_upscaled.png, one file on Windows/macOS: one result lost.
    names = ["photo.png", "PHOTO.png", "Photo.PNG", "../photo.png"]
    files = [("files", (name, png_bytes(pattern(i)), "image/png")) for i, name in enumerate(names)]
    response = client.post("/api/upscale-batch", files=files)
    assert response.status_code == 200, response.text
    members = [name for name in zipfile.ZipFile(io.BytesIO(response.content)).namelist() if name != "report.json"]
    assert len(members) == 4
    assert len({name.casefold() for name in members}) == 4, members
    assert all("/" not in name and "\\" not in name and not name.startswith(".") for name in members)


# ----------------------------------------------------------------------------- metrics


def _raw(server: Server, request: bytes) -> bytes:
    url = urlsplit(server.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_odd_http_methods_do_not_start_new_metric_series(server: Server, client: httpx.Client) -> None:
    # Before: the method label took whatever method the client sent (PROPFIND, MKCOL, ... and with
    # uvicorn's h11 parser any token at all), each one a new counter and histogram series.
    for method in ("PROPFIND", "MKCOL", "PURGE", "REPORT"):
        _raw(server, f"{method} /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    metrics = client.get("/metrics").text
    for method in ("PROPFIND", "MKCOL", "PURGE", "REPORT"):
        assert f'method="{method}"' not in metrics
    assert 'method="other"' in metrics


# ----------------------------------------------------------------------------- decoding cost


def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each segment; a scan's end is after its entropy-coded data."""
    i, segments = 2, []
    while i < len(data):
        marker = data[i + 1]
        if marker == 0xD9:
            segments.append((marker, i, i + 2))
            break
        end = i + 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker == 0xDA:
            while True:
                end = data.index(b"\xff", end)
                if data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                    end += 2
                    continue
                break
        segments.append((marker, i, end))
        i = end
    return segments


def _progressive_jpeg(size: int = 256) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (size, size), 128).save(buffer, "JPEG", progressive=True, quality=90)
    return buffer.getvalue()


def scan_bomb(repeats: int, size: int = 256) -> bytes:
    """A progressive JPEG with one small scan repeated: libjpeg passes over every block per scan."""
    data = _progressive_jpeg(size)
    segments = _jpeg_segments(data)
    _, start, end = min((s for s in segments if s[0] == 0xDA), key=lambda s: s[2] - s[1])
    eoi = segments[-1][1]
    return data[:eoi] + data[start:end] * repeats + data[eoi:]


def test_a_jpeg_scan_bomb_is_refused_before_decoding(client: httpx.Client) -> None:
    # Before: decoded. 16 bytes per scan and ~0.3 ms per scan at 2048x2048, so a 50 MB upload
    # held a CPU for ~15 minutes; here (1 MB limit) the file is small and decodes at once.
    bomb = scan_bomb(MAX_JPEG_SCANS + 50)
    response = client.post("/api/upscale", files={"file": ("b.jpg", bomb, "image/jpeg")})
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "decompression_bomb"
    assert "scans" in response.json()["detail"]


def test_an_ordinary_progressive_jpeg_still_works(client: httpx.Client) -> None:
    buffer = io.BytesIO()
    Image.fromarray(pattern(5, 64)).save(buffer, "JPEG", progressive=True, quality=95, optimize=True)
    response = client.post("/api/upscale", files={"file": ("p.jpg", buffer.getvalue(), "image/jpeg")})
    assert response.status_code == 200, response.text


def _tiff_pages(count: int) -> bytes:
    """A little-endian TIFF with `count` 1x1 gray pages sharing one pixel."""
    entries = [(256, 3, 1), (257, 3, 1), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8), (277, 3, 1)]
    entries += [(278, 3, 1), (279, 4, 1)]
    out = bytearray(b"II*\x00" + struct.pack("<I", 16) + b"\x80" + b"\x00" * 7)
    for page in range(count):
        next_ifd = len(out) + 2 + 12 * len(entries) + 4 if page < count - 1 else 0
        out += struct.pack("<H", len(entries))
        for tag, kind, value in entries:
            packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
            out += struct.pack("<HHI", tag, kind, 1) + packed
        out += struct.pack("<I", next_ifd)
    return bytes(out)


def _gif_frames(count: int) -> bytes:
    header = b"GIF89a" + struct.pack("<HHBBB", 16, 16, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = (
        b"\x21\xf9\x04\x00\x00\x00\x00\x00" + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    )
    return header + frame * count + b"\x3b"


def test_counting_the_pages_of_a_many_page_tiff_is_bounded() -> None:
    # Before: Pillow's n_frames, quadratic in the pages: 30,000 pages (3.4 MB) took ~9 s,
    # 100,000 pages (11 MB) 50 s, all for an informational frame count.
    data = _tiff_pages(30_000)
    started = time.perf_counter()
    decoded = decode_image(data, max_pixels=1 << 20)
    seconds = time.perf_counter() - started
    assert decoded.frame_count == MAX_COUNTED_FRAMES and decoded.width == decoded.height == 1
    assert seconds < 2.0, f"{seconds:.1f} s"


def test_frame_counts_are_capped_and_exact_below_the_cap() -> None:
    assert decode_image(_gif_frames(5 * MAX_COUNTED_FRAMES), max_pixels=1 << 20).frame_count == MAX_COUNTED_FRAMES
    assert decode_image(_gif_frames(7), max_pixels=1 << 20).frame_count == 7
    assert decode_image(_tiff_pages(3), max_pixels=1 << 20).frame_count == 3
    single = np.asarray(decode_image(_gif_frames(1), max_pixels=1 << 20).pixels)
    assert single.shape[:2] == (16, 16)


def test_a_many_page_tiff_upload_is_answered(client: httpx.Client) -> None:
    data = _tiff_pages(8_000)  # under the test server's 1 MB upload limit
    response = client.post("/api/upscale", files={"file": ("p.tif", data, "image/tiff")})
    assert response.status_code == 200, response.text


# ----------------------------------------------------------------------------- in-process middleware


async def _call(app, method: str, headers: list[tuple[bytes, bytes]]) -> list[dict]:  # noqa: ANN001
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/x", "headers": headers, "query_string": b""}
    await app(scope, receive, send)
    return sent


def _middleware():  # noqa: ANN202
    from starlette.responses import PlainTextResponse

    from backend.api.metrics import Metrics
    from backend.api.middleware import RequestContextMiddleware

    metrics = Metrics()
    return metrics, RequestContextMiddleware(PlainTextResponse("ok"), metrics=metrics, body_limit=lambda path: None)


def test_any_method_token_is_counted_as_other() -> None:
    # With uvicorn's h11 parser (no httptools) a method is any token: 1000 of them were 1000 series.
    metrics, app = _middleware()
    for index in range(50):
        asyncio.run(_call(app, f"X{index}", []))
    asyncio.run(_call(app, "GET", []))
    methods = {sample.labels["method"] for metric in metrics.requests.collect() for sample in metric.samples}
    assert methods == {"other", "GET"}


def test_a_request_id_with_a_newline_is_replaced() -> None:
    _, app = _middleware()
    for incoming, kept in ((b"abc-123", True), (b"abc\n", False), (b"a" * 65, False), (b"a b", False)):
        sent = asyncio.run(_call(app, "GET", [(b"x-request-id", incoming)]))
        echoed = dict(sent[0]["headers"])[b"x-request-id"]
        assert (echoed == incoming) is kept, (incoming, echoed)
        assert b"\n" not in echoed
