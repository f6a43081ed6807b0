"""PNG text past Pillow's limits (backend/imaging/png_metadata.py) under every Pillow we allow."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from imaging_samples import insert_chunk_after_ihdr, png_chunk, to_bytes
from PIL import Image

from backend.errors import TruncatedImage
from backend.imaging.png_metadata import without_refused_metadata

# What PngImagePlugin's _safe_zlib_decompress raises for a text chunk that inflates past
# MAX_TEXT_CHUNK: Pillow 10 named no limit, later releases do; the check takes either wording.
PILLOW_10_CHUNK_MESSAGE = "Decompressed Data Too Large"
PILLOW_11_CHUNK_MESSAGE = "Decompressed data too large for PngImagePlugin.MAX_TEXT_CHUNK"


def refused(message: str) -> TruncatedImage:
    """The TruncatedImage that open_header raises, with Pillow's ValueError as its cause."""
    error = TruncatedImage(f"The PNG header is truncated or corrupt: {message}")
    error.__cause__ = ValueError(message)
    return error


@pytest.mark.parametrize("message", [PILLOW_10_CHUNK_MESSAGE, PILLOW_11_CHUNK_MESSAGE], ids=["pillow-10", "pillow-11"])
def test_giant_text_chunk_is_dropped_whatever_pillow_calls_it(message: str) -> None:
    # Before: only messages with "MAX_TEXT_" counted, so under Pillow 10 such a PNG stayed a 422.
    plain = to_bytes(Image.fromarray(np.zeros((4, 4, 3), np.uint8)), "PNG")
    text = png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"x" * 2_000_000, 9))
    data = insert_chunk_after_ihdr(plain, text[4:8], text[8:-4])
    assert without_refused_metadata(data, refused(message)) == plain
