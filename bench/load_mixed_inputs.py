"""What the mixed clients send: seeded test images, a decompression bomb and hand-written raw HTTP requests."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BOUNDARY = "stressboundary"


def mixed_image(index: int, size: int) -> bytes:
    """A random size x size RGB PNG, the same for the same index (so results can be compared)."""
    rng = np.random.default_rng(1000 + index)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def huge_png_header() -> bytes:
    """A small, well-formed PNG whose header claims 60000 x 60000 pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    return PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")


def raw_request(
    method: str, target: str, host: str, headers: dict[str, str], body: bytes = b"", content_type: str = ""
) -> bytes:
    """An HTTP/1.1 request as bytes, for clients that send part of it or leave mid-answer."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    if content_type:
        lines += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def raw_multipart(
    path: str, params: dict[str, str], host: str, headers: dict[str, str], body: bytes, field_name: str = "file"
) -> bytes:
    """A POST of `body` as the one file of a multipart form, as raw_request bytes."""
    part = (
        (
            f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="{field_name}"; filename="x.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + body
        + f"\r\n--{_BOUNDARY}--\r\n".encode()
    )
    query = ("?" + "&".join(f"{k}={v}" for k, v in params.items())) if params else ""
    return raw_request("POST", path + query, host, headers, part, f"multipart/form-data; boundary={_BOUNDARY}")
