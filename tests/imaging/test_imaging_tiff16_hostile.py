"""Hostile 16-bit TIFFs against the planar and gray+alpha readers (tiff_samples16): every crafted or
mutated file either decodes to a correctly shaped uint16 image or fails with one of the project's
UserErrors (a clean 4xx), quickly and within bounded memory."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zlib

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imaging_samples import MAX_PIXELS, photo
from tiff_samples import DEFLATE, LZW, NONE, PACKBITS, tiff16

from backend.errors import DecompressionBomb, InvalidImage, TruncatedImage, UserError
from backend.imaging import decode_image, probe_size
from backend.imaging.limits import MAX_TIFF_CHUNKS, MAX_TIFF_TILE_WIDTH, check_tiff_chunks

_SHORT, _LONG, _UNDEFINED, _LONG8 = 3, 4, 7, 16
_FORMATS = {_SHORT: "H", _LONG: "I", _LONG8: "Q"}
# Tags (craft's `changes` name the others by number: t274=... for Orientation)
WIDTH, LENGTH, BITS, COMPRESSION, PHOTOMETRIC, STRIP_OFFSETS, SAMPLES = 256, 257, 258, 259, 262, 273, 277
ROWS, STRIP_COUNTS, PLANAR, EXTRA = 278, 279, 284, 338
TILE_WIDTH, TILE_LENGTH, TILE_OFFSETS, TILE_COUNTS = 322, 323, 324, 325


def craft(entries: dict[int, tuple[int, object]], payload: bytes = b"", *, bigtiff: bool = False) -> bytes:
    """A little-endian TIFF with one IFD of exactly these entries ({tag: (type, values)}), long values
    after the IFD, then `payload`. A value "payload" is replaced by the payload's offset."""

    def build(payload_at: int) -> bytes:
        offset, count, entry = ("Q", "Q", "HHQ") if bigtiff else ("I", "H", "HHI")
        field = 8 if bigtiff else 4
        header = b"II+\0" + struct.pack("<HHQ", 8, 0, 16) if bigtiff else b"II*\0" + struct.pack("<I", 8)
        values_at = len(header) + struct.calcsize(f"<{count}") + len(entries) * (struct.calcsize(f"<{entry}") + field)
        values_at += field
        fields, values = b"", b""
        for tag in sorted(entries):
            kind, items = entries[tag]
            if kind == _UNDEFINED:
                raw, number = items, len(items)
            else:
                items = [payload_at if item == "payload" else item for item in items]
                raw, number = struct.pack(f"<{len(items)}{_FORMATS[kind]}", *items), len(items)
            if len(raw) <= field:
                fields += struct.pack(f"<{entry}", tag, kind, number) + raw.ljust(field, b"\0")
            else:
                fields += struct.pack(f"<{entry}", tag, kind, number) + struct.pack(
                    f"<{offset}", values_at + len(values)
                )
                values += raw + b"\0" * (len(raw) % 2)
        ifd = struct.pack(f"<{count}", len(entries)) + fields + struct.pack(f"<{offset}", 0)
        return header + ifd + values

    return build(len(build(0))) + payload


def gray_alpha(width: int = 4, height: int = 4, strip: bytes | None = None, **changes: tuple[int, object]) -> bytes:
    """A one-strip 16-bit gray+alpha TIFF (uncompressed, unless `strip` and t259 say otherwise);
    `changes` replace, add (t<tag>=(type, values)) or drop (t<tag>=None) tags."""
    strip = _pixels(height, width, 2).tobytes() if strip is None else strip
    entries = {
        WIDTH: (_LONG, [width]),
        LENGTH: (_LONG, [height]),
        BITS: (_SHORT, [16, 16]),
        COMPRESSION: (_SHORT, [1]),
        PHOTOMETRIC: (_SHORT, [1]),
        STRIP_OFFSETS: (_LONG, ["payload"]),
        SAMPLES: (_SHORT, [2]),
        ROWS: (_LONG, [height]),
        STRIP_COUNTS: (_LONG, [len(strip)]),
        PLANAR: (_SHORT, [1]),
        EXTRA: (_SHORT, [2]),
    }
    entries |= {int(tag[1:]): value for tag, value in changes.items()}
    return craft({tag: value for tag, value in entries.items() if value is not None}, strip)


def planar_rgb(width: int = 4, height: int = 4, **changes: tuple[int, object]) -> bytes:
    """An uncompressed planar 16-bit RGB TIFF, one strip per plane."""
    plane = width * height * 2
    entries = {
        WIDTH: (_LONG, [width]),
        LENGTH: (_LONG, [height]),
        BITS: (_SHORT, [16, 16, 16]),
        COMPRESSION: (_SHORT, [1]),
        PHOTOMETRIC: (_SHORT, [2]),
        SAMPLES: (_SHORT, [3]),
        ROWS: (_LONG, [height]),
        PLANAR: (_SHORT, [2]),
    }
    entries |= {int(tag[1:]): value for tag, value in changes.items()}
    entries = {tag: value for tag, value in entries.items() if value is not None}
    probe = craft(entries | {STRIP_OFFSETS: (_LONG, [0] * 3), STRIP_COUNTS: (_LONG, [plane] * 3)})
    start = len(probe)
    entries = {
        STRIP_OFFSETS: (_LONG, [start, start + plane, start + 2 * plane]),
        STRIP_COUNTS: (_LONG, [plane] * 3),
    } | entries
    return craft(entries, np.transpose(_pixels(height, width, 3), (2, 0, 1)).astype("<u2").tobytes())


def _pixels(height: int, width: int, channels: int) -> np.ndarray:
    values = np.arange(height * width * channels, dtype=np.uint32) * 2654435761 >> 16
    return values.astype(np.uint16).reshape(height, width, channels)


# (file, channels decoded): planar RGB(A) and gray+alpha, each read through tiff_samples16.
SEEDS = [
    (tiff16(_pixels(6, 5, 3), planar=True, compression=NONE), 3),
    (tiff16(_pixels(6, 5, 4), planar=True, compression=LZW, extra_samples=(2,)), 4),
    (tiff16(_pixels(5, 7, 3), planar=True, compression=DEFLATE, byteorder=">"), 3),
    (tiff16(_pixels(6, 5, 2), compression=NONE, extra_samples=(2,)), 4),
    (tiff16(_pixels(6, 5, 2), compression=PACKBITS, extra_samples=(1,), byteorder=">"), 4),
    (tiff16(_pixels(5, 3, 2), planar=True, compression=DEFLATE, extra_samples=(2,)), 4),
]


def _strips_start(data: bytes) -> int:
    """Where the first strip starts: tiff16 writes the header, the IFD and its long values before it."""
    order = "<" if data[:2] == b"II" else ">"
    (count,) = struct.unpack_from(f"{order}H", data, 8)
    for at in range(10, 10 + 12 * count, 12):
        tag, kind, number, value = struct.unpack_from(f"{order}HHII", data, at)
        if tag == 273:
            return value if number == 1 else min(struct.unpack_from(f"{order}{number}I", data, value))
    raise AssertionError("no StripOffsets")


def _outcome(data: bytes) -> np.ndarray | UserError:
    try:
        return decode_image(data, max_pixels=MAX_PIXELS).pixels
    except UserError as exc:
        return exc


@pytest.mark.parametrize(("data", "channels"), SEEDS)
def test_seed_files_decode_at_16_bits(data: bytes, channels: int) -> None:
    pixels = _outcome(data)
    assert isinstance(pixels, np.ndarray) and pixels.dtype == np.uint16 and pixels.shape[2] == channels


# Values that break TIFF fields: zero, one, the largest SHORT and LONG, sizes near the file's.
_INTERESTING = (0, 1, 2, 3, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF)


@st.composite
def hostile_tiffs(draw: st.DrawFn) -> bytes:
    data, _ = draw(st.sampled_from(SEEDS))
    mutable = bytearray(data)
    header_end = _strips_start(data)
    order = "<" if data[:2] == b"II" else ">"
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(4, header_end - 1))
        if draw(st.booleans()):
            mutable[at] ^= 1 << draw(st.integers(0, 7))
        else:
            width = draw(st.sampled_from((2, 4)))
            at = min(at, len(mutable) - width)
            value = draw(st.sampled_from((*_INTERESTING, len(data), len(data) - 1, header_end)))
            mutable[at : at + width] = (value % (1 << (8 * width))).to_bytes(width, "little" if order == "<" else "big")
    if draw(st.booleans()):
        mutable = mutable[: draw(st.integers(8, len(mutable)))]
    return bytes(mutable)


@settings(
    max_examples=200,
    derandomize=True,
    deadline=None,  # timed below, so a slow machine fails on the bound and not on hypothesis' own
    suppress_health_check=[HealthCheck.too_slow],
)
@given(hostile_tiffs())
def test_mutated_16_bit_tiff_decodes_or_fails_cleanly(data: bytes) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        outcome = _outcome(data)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 2.0, f"decode took {elapsed:.1f} s"
    assert peak < 64 * 2**20, f"decode allocated {peak / 2**20:.0f} MiB"
    if isinstance(outcome, np.ndarray):
        assert outcome.ndim == 3 and outcome.shape[2] in (3, 4)
        assert outcome.shape[0] * outcome.shape[1] <= MAX_PIXELS
        assert outcome.dtype in (np.uint8, np.uint16)  # a mutated tag may leave Pillow's 8-bit reading


def test_crafted_builders_decode_exactly() -> None:
    np.testing.assert_array_equal(decode_image(planar_rgb(), max_pixels=MAX_PIXELS).pixels, _pixels(4, 4, 3))
    decoded = decode_image(gray_alpha(), max_pixels=MAX_PIXELS)
    gray, alpha = _pixels(4, 4, 2)[..., 0], _pixels(4, 4, 2)[..., 1]
    np.testing.assert_array_equal(decoded.pixels, np.dstack([gray, gray, gray, alpha]))


def _one_wide_strips(strips: int, *, samples: int, bigtiff: bool = False) -> bytes:
    """A 1-pixel-wide image of `strips` one-row strips (per plane, if planar): 4 bytes of upload a strip."""
    planes = 3 if samples == 3 else 1
    count = strips * planes
    offsets_at_end = 2 * count  # the SHORT arrays come last: offsets, then counts, each 2 bytes an entry
    entries = {
        WIDTH: (_LONG, [1]),
        LENGTH: (_LONG, [strips]),
        BITS: (_SHORT, [16] * samples),
        COMPRESSION: (_SHORT, [1]),
        PHOTOMETRIC: (_SHORT, [2 if samples == 3 else 1]),
        SAMPLES: (_SHORT, [samples]),
        ROWS: (_LONG, [1]),
        PLANAR: (_SHORT, [2 if samples == 3 else 1]),
    }
    if samples == 2:
        entries[EXTRA] = (_SHORT, [2])
    head = craft(
        entries | {STRIP_OFFSETS: (_LONG8 if bigtiff else _LONG, [0, 0]), STRIP_COUNTS: (_SHORT, [0] * 3)},
        b"",
        bigtiff=bigtiff,
    )
    # Entries claiming `count` values each, at the end of the file: every strip is 2 bytes at offset 16.
    data = bytearray(head)
    field, entry = (8, "<HHQ") if bigtiff else (4, "<HHI")
    size = struct.calcsize(entry) + field
    first = 16 + 8 if bigtiff else 8 + 2
    for at in range(first, first + size * len(entries | {STRIP_OFFSETS: 0, STRIP_COUNTS: 0}), size):
        tag = struct.unpack_from("<H", data, at)[0]
        if tag in (STRIP_OFFSETS, STRIP_COUNTS):
            where = len(head) + (0 if tag == STRIP_OFFSETS else offsets_at_end)
            struct.pack_into(entry, data, at, tag, _SHORT, count)
            struct.pack_into("<Q" if bigtiff else "<I", data, at + size - field, where)
    return bytes(data) + struct.pack("<H", 16) * (2 * count)


@pytest.mark.parametrize("samples", [1, 2, 3], ids=["gray", "gray-alpha", "planar-rgb"])
@pytest.mark.parametrize("bigtiff", [False, True], ids=["classic", "bigtiff"])
def test_millions_of_strips_are_refused_before_pillow_reads_them(samples: int, bigtiff: bool) -> None:
    # 1,000,000 strips in 4 MB: Pillow alone took 13 s; planar and gray+alpha open the page again per plane.
    data = _one_wide_strips(1_000_000 // (3 if samples == 3 else 1), samples=samples, bigtiff=bigtiff)
    for read in (lambda: decode_image(data, max_pixels=4096 * 4096), lambda: probe_size(data)):
        started = time.perf_counter()
        with pytest.raises(DecompressionBomb, match="strips or tiles"):
            read()
        assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("samples", [2, 3], ids=["gray-alpha", "planar-rgb"])
def test_strips_up_to_the_limit_still_decode(samples: int) -> None:
    strips = 4096 if samples == 2 else 4096 // 3
    data = _one_wide_strips(strips, samples=samples)
    pixels = decode_image(data, max_pixels=MAX_PIXELS).pixels
    assert pixels.shape == (strips, 1, 4 if samples == 2 else 3) and pixels.dtype == np.uint16
    check_tiff_chunks(_one_wide_strips(MAX_TIFF_CHUNKS, samples=1))  # exactly at the limit: no error


def _tiled_gray_alpha(tile_width: int, tile_length: int = 16, *, bigtiff: bool = False, planar: bool = False) -> bytes:
    tile = _pixels(16, 16, 1 if planar else 2).tobytes()
    kind = _LONG8 if bigtiff else _LONG
    tiles = 2 if planar else 1
    entries = {
        WIDTH: (_LONG, [4]),
        LENGTH: (_LONG, [4]),
        BITS: (_SHORT, [16, 16]),
        COMPRESSION: (_SHORT, [1]),
        PHOTOMETRIC: (_SHORT, [1]),
        SAMPLES: (_SHORT, [2]),
        PLANAR: (_SHORT, [2 if planar else 1]),
        EXTRA: (_SHORT, [2]),
        TILE_WIDTH: (kind, [tile_width]),
        TILE_LENGTH: (kind, [tile_length]),
        TILE_OFFSETS: (_LONG, ["payload"] * tiles),
        TILE_COUNTS: (_LONG, [len(tile)] * tiles),
    }
    return craft(entries, tile, bigtiff=bigtiff)


def _tiled_planar_rgb(tile_width: int) -> bytes:
    tile = _pixels(16, 16, 1).tobytes()
    entries = {
        WIDTH: (_LONG, [4]),
        LENGTH: (_LONG, [4]),
        BITS: (_SHORT, [16, 16, 16]),
        COMPRESSION: (_SHORT, [1]),
        PHOTOMETRIC: (_SHORT, [2]),
        SAMPLES: (_SHORT, [3]),
        PLANAR: (_SHORT, [2]),
        TILE_WIDTH: (_LONG, [tile_width]),
        TILE_LENGTH: (_LONG, [16]),
        TILE_OFFSETS: (_LONG, ["payload"] * 3),
        TILE_COUNTS: (_LONG, [len(tile)] * 3),
    }
    return craft(entries, tile)


@pytest.mark.parametrize(
    "make",
    [
        # gray+alpha: the doubled tile width no longer fit a LONG: struct.error (a 500)
        lambda: _tiled_gray_alpha(2**31),
        lambda: _tiled_gray_alpha(2**32 - 1, 2**31),
        lambda: _tiled_gray_alpha(2**40, bigtiff=True),
        # planar (and any uncompressed tiled TIFF): Pillow's tile decoder raised OverflowError (a 500)
        lambda: _tiled_planar_rgb(2**31),
        lambda: _tiled_planar_rgb(MAX_TIFF_TILE_WIDTH + 16),
    ],
    ids=["gray-alpha-2**31", "gray-alpha-2**32-1", "gray-alpha-bigtiff-2**40", "planar-2**31", "planar-just-over"],
)
def test_absurdly_wide_tiles_are_a_corrupt_header(make) -> None:
    data = make()
    with pytest.raises(TruncatedImage, match="tiles are"):
        decode_image(data, max_pixels=MAX_PIXELS)
    with pytest.raises(TruncatedImage, match="tiles are"):
        probe_size(data)


@pytest.mark.parametrize("planar", [False, True])
def test_tiles_far_longer_than_the_image_still_decode(planar: bool) -> None:
    pixels = decode_image(_tiled_gray_alpha(16, 2**32 - 1, planar=planar), max_pixels=MAX_PIXELS).pixels
    assert pixels.shape == (4, 4, 4) and pixels.dtype == np.uint16


@pytest.mark.parametrize(("width", "height"), [(2**40, 1), (1, 2**40), (2**33, 2**33)])
def test_bigtiff_gray_alpha_beyond_32_bit_sizes_is_refused(width: int, height: int) -> None:
    # The stand-in page's LONG fields could not hold a LONG8 width: struct.error in open_header (a 500).
    strip = b"\1\2" * 8
    entries = {
        WIDTH: (_LONG8, [width]),
        LENGTH: (_LONG8, [height]),
        BITS: (_SHORT, [16, 16]),
        COMPRESSION: (_SHORT, [1]),
        PHOTOMETRIC: (_SHORT, [1]),
        STRIP_OFFSETS: (_LONG8, ["payload"]),
        SAMPLES: (_SHORT, [2]),
        ROWS: (_LONG8, [height]),
        STRIP_COUNTS: (_LONG, [len(strip)]),
        PLANAR: (_SHORT, [1]),
        EXTRA: (_SHORT, [2]),
    }
    data = craft(entries, strip, bigtiff=True)
    with pytest.raises(UserError):
        decode_image(data, max_pixels=MAX_PIXELS)
    with pytest.raises(UserError):
        probe_size(data)


def test_gray_alpha_doubled_width_over_pillows_limit_says_the_real_size() -> None:
    # Read as a gray page twice as wide, a 10000x10000 gray+alpha image (allowed by a raised max_pixels)
    # crosses Pillow's hard limit of 2 * MAX_IMAGE_PIXELS, which reported 200,000,000 pixels.
    data = gray_alpha(10_000, 10_000, zlib.compress(b"\0" * 100), t259=(_SHORT, [8]))
    with pytest.raises(DecompressionBomb, match="10000x10000, and it is read as a 20000x10000 image"):
        decode_image(data, max_pixels=200_000_000)


def _with_next_ifd(data: bytes, next_at: int) -> bytes:
    """`data` (a classic little-endian TIFF) with its first IFD's next-IFD pointer set to `next_at`."""
    (first,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, first)
    at = first + 2 + 12 * count
    return data[:at] + struct.pack("<I", next_at) + data[at + 4 :]


CRAFTED = {
    "rows-per-strip-0": lambda: gray_alpha(t278=(_LONG, [0])),
    "rows-per-strip-huge": lambda: gray_alpha(t278=(_LONG, [2**32 - 1])),
    "rows-per-strip-missing": lambda: gray_alpha(t278=None),
    "planar-rows-per-strip-0": lambda: planar_rgb(t278=(_LONG, [0])),
    "width-0": lambda: gray_alpha(t256=(_LONG, [0])),
    "height-huge": lambda: gray_alpha(t257=(_LONG, [2**32 - 1])),
    "strip-into-header": lambda: gray_alpha(t273=(_LONG, [0])),
    "strip-past-end": lambda: gray_alpha(t279=(_LONG, [10**6])),
    "strip-offset-4GiB": lambda: gray_alpha(t273=(_LONG, [2**32 - 1])),
    "strip-count-0": lambda: gray_alpha(t279=(_LONG, [0])),
    "more-offsets-than-counts": lambda: gray_alpha(t273=(_LONG, [16, 32]), t279=(_LONG, [8])),
    "planar-too-few-strips": lambda: planar_rgb(t273=(_LONG, [16, 32]), t279=(_LONG, [32, 32])),
    "planar-offsets-past-end": lambda: planar_rgb(t273=(_LONG, [16, 32, 2**32 - 1]), t279=(_LONG, [32, 32, 32])),
    "overlapping-strips": lambda: planar_rgb(t273=(_LONG, [8, 8, 8]), t279=(_LONG, [32, 32, 32])),
    "fill-order-2": lambda: gray_alpha(t266=(_SHORT, [2])),
    "planar-fill-order-2": lambda: planar_rgb(t266=(_SHORT, [2])),
    "photometric-rgb": lambda: gray_alpha(t262=(_SHORT, [2])),
    "photometric-white-is-zero": lambda: gray_alpha(t262=(_SHORT, [0])),
    "photometric-palette": lambda: gray_alpha(t262=(_SHORT, [3])),
    "planar-photometric-min-is-black": lambda: planar_rgb(t262=(_SHORT, [1])),
    "planar-photometric-ycbcr": lambda: planar_rgb(t262=(_SHORT, [6])),
    "predictor-2-odd-width": lambda: gray_alpha(5, 3, t317=(_SHORT, [2])),
    "predictor-3": lambda: gray_alpha(t317=(_SHORT, [3])),
    "planar-predictor-2-odd-width": lambda: planar_rgb(5, 3, t317=(_SHORT, [2])),
    "samples-3-extra-1": lambda: gray_alpha(t277=(_SHORT, [3])),
    "extra-samples-2": lambda: gray_alpha(t338=(_SHORT, [2, 2])),
    "extra-samples-5": lambda: gray_alpha(t338=(_SHORT, [5])),
    "planar-extra-sample-of-3": lambda: planar_rgb(t338=(_SHORT, [2])),
    "bits-16-8": lambda: gray_alpha(t258=(_SHORT, [16, 8])),
    "bits-16-only": lambda: gray_alpha(t258=(_SHORT, [16])),
    "orientation-0": lambda: gray_alpha(t274=(_SHORT, [0])),
    "orientation-9": lambda: gray_alpha(t274=(_SHORT, [9])),
    "orientation-two-values": lambda: gray_alpha(t274=(_SHORT, [6, 6])),
    "icc-3-bytes": lambda: gray_alpha(t34675=(_UNDEFINED, b"abc")),
    "icc-odd-junk": lambda: gray_alpha(t34675=(_UNDEFINED, b"not an ICC profile")),
    "planar-icc-junk": lambda: planar_rgb(t34675=(_UNDEFINED, b"not an ICC profile")),
    "ifd-loop": lambda: _with_next_ifd(gray_alpha(), 8),
    "planar-ifd-loop": lambda: _with_next_ifd(planar_rgb(), 8),
    "next-ifd-past-end": lambda: _with_next_ifd(gray_alpha(), 2**32 - 1),
    "deflate-claiming-a-big-page": lambda: gray_alpha(1000, 1000, zlib.compress(b"\0" * 100), t259=(_SHORT, [8])),
    "deflate-garbage": lambda: gray_alpha(1000, 1000, b"\x78\x9cgarbage" * 4, t259=(_SHORT, [8])),
}


@pytest.mark.parametrize("name", list(CRAFTED))
def test_crafted_tags_decode_or_fail_cleanly(name: str) -> None:
    data = CRAFTED[name]()
    started = time.perf_counter()
    outcome = _outcome(data)
    assert time.perf_counter() - started < 2.0
    if isinstance(outcome, np.ndarray):
        assert outcome.ndim == 3 and outcome.shape[2] in (3, 4) and outcome.dtype in (np.uint8, np.uint16)
        width, height = probe_size(data)
        assert {outcome.shape[0], outcome.shape[1]} == {width, height}  # (orientation may swap them)


def test_predictor_2_with_odd_width_and_tiles_is_exact() -> None:
    pixels = _pixels(7, 5, 2)
    for options in ({"compression": "zlib"}, {"compression": "zlib", "tile": (16, 16)}):
        buffer = io.BytesIO()
        tifffile.imwrite(buffer, pixels, photometric="minisblack", extrasamples=[2], predictor=True, **options)
        decoded = decode_image(buffer.getvalue(), max_pixels=MAX_PIXELS).pixels
        gray = pixels[..., 0]
        np.testing.assert_array_equal(decoded, np.dstack([gray, gray, gray, pixels[..., 1]]))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_a_big_endian_bigtiff_is_refused_as_unsupported_not_a_crash(dtype: type) -> None:
    """Pillow takes a big-endian BigTIFF header for a classic one (it looks at the wrong byte) and
    cannot open it; the gray+alpha probe then ran out of header bytes: struct.error, a 500."""
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, photo()[:16, :16].astype(dtype), bigtiff=True, photometric="rgb", byteorder=">")
    with pytest.raises(InvalidImage, match="Big-endian BigTIFF"):
        decode_image(buffer.getvalue(), max_pixels=MAX_PIXELS)


def far_first_page(offset: int) -> bytes:
    """A little-endian BigTIFF header whose first IFD is at `offset`, far past the end of the file."""
    return b"II+\x00" + bytes(4) + offset.to_bytes(8, "little") + bytes(64)


@pytest.mark.parametrize(
    "head",
    # 2**63 and up: past ssize_t, so looking there raised OverflowError in check_tiff_chunks (a 500)
    [b"II+\x00\x08\x00", far_first_page(2**40), far_first_page(2**63), far_first_page(2**64 - 1)],
    ids=["header-cut", "first-page-past-the-end", "first-page-at-2**63", "first-page-at-2**64-1"],
)
def test_a_little_endian_bigtiff_cut_short_is_truncated(head: bytes) -> None:
    with pytest.raises(TruncatedImage, match="TIFF"):
        decode_image(head, max_pixels=MAX_PIXELS)
