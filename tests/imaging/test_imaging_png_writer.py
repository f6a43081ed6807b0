"""png_writer.write_png: the PNG every result is written as, deflated in parallel bands.

Checked by decoding with Pillow and with zlib directly: same pixels for every depth, channel
count, level and size (one band, many bands, rows wider than a band), a valid zlib stream with
the right checksum, and output sizes close to Pillow's own encoder.
"""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from imaging_samples import MAX_PIXELS, photo, png_chunks, widen
from PIL import Image

from backend.imaging import decode_image, png_writer
from backend.imaging.png_writer import adler32_combine, write_png


def _large_photo(side: int) -> np.ndarray:
    return np.asarray(Image.fromarray(photo("coffee")).resize((side, side), Image.LANCZOS))


@pytest.mark.parametrize("level", range(10))
def test_a_multi_band_photo_round_trips_at_every_level(level: int) -> None:
    pixels = _large_photo(640)  # 1.2 MB of rows: five bands
    decoded = np.asarray(Image.open(io.BytesIO(write_png(pixels, compress_level=level))))
    assert np.array_equal(decoded, pixels)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("wide", [False, True], ids=["8bit", "16bit"])
@pytest.mark.parametrize("shape", [(1, 1), (3, 700), (700, 3), (97, 389)])
def test_every_depth_channel_count_and_odd_shape_round_trips(channels: int, wide: bool, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(channels * 1000 + shape[0])
    high = 65536 if wide else 256
    pixels = rng.integers(0, high, size=(*shape, channels), dtype=np.uint16 if wide else np.uint8)
    data = write_png(pixels)
    decoded = decode_image(data, max_pixels=MAX_PIXELS)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (shape[1], shape[0])
    gray_channels = channels in (1, 2)
    color = decoded.pixels[..., 0] if gray_channels else decoded.pixels[..., :3]
    source = pixels[..., 0] if gray_channels else pixels[..., :3]
    assert np.array_equal(color, source)
    if channels in (2, 4):
        assert np.array_equal(decoded.pixels[..., -1], pixels[..., -1])


@pytest.mark.parametrize("wide", [False, True], ids=["8bit", "16bit"])
def test_a_row_wider_than_a_band_and_many_bands_make_one_valid_zlib_stream(monkeypatch, wide: bool) -> None:
    monkeypatch.setattr(png_writer, "_BAND_BYTES", 1000)  # rows of 1 201 or 2 401 bytes: one row per band
    pixels = _large_photo(400)
    if wide:
        pixels = widen(pixels)
    data = write_png(pixels)
    stream = b"".join(payload for kind, payload in png_chunks(data) if kind == b"IDAT")
    raw = zlib.decompress(stream)  # checks the header and the adler32 at the end
    row_bytes = 400 * 3 * pixels.itemsize
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(400, 1 + row_bytes)
    assert (rows[:, 0] == 2).all()  # every row: the Up filter
    unfiltered = np.cumsum(rows[:, 1:], axis=0, dtype=np.uint8)
    expected = pixels.astype(">u2").view(np.uint8) if wide else pixels
    assert np.array_equal(unfiltered, expected.reshape(400, row_bytes))


def test_sizes_stay_close_to_pillows_encoder() -> None:
    pixels = _large_photo(1024)
    for level in (1, 6):
        ours = len(write_png(pixels, compress_level=level))
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG", compress_level=level)
        assert ours < 1.1 * buffer.tell(), level


def test_the_icc_profile_is_kept() -> None:
    profile = b"not a real profile, but bytes all the same" * 10
    with Image.open(io.BytesIO(write_png(photo(), profile))) as image:
        assert image.info["icc_profile"] == profile


@pytest.mark.parametrize("split", [0, 1, 5, 65520, 65521, 200_000])
def test_adler32_combine_matches_zlib(split: int) -> None:
    data = np.random.default_rng(split).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    first, second = data[:split], data[split:]
    assert adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second)) == zlib.adler32(data)


def test_widened_photo_round_trips_at_16_bits() -> None:
    pixels = widen(photo())
    assert np.array_equal(decode_image(write_png(pixels), max_pixels=MAX_PIXELS).pixels, pixels)
