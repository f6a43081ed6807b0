"""Open an upload lazily (header only) and enforce the pixel limit before any pixel is decoded."""

from __future__ import annotations

import io
import struct

from PIL import Image, UnidentifiedImageError

from backend.errors import DecompressionBomb, EmptyUpload, InvalidImage, TruncatedImage
from backend.imaging.formats import INPUT_FORMATS, sniff_format
from backend.imaging.png_metadata import without_refused_metadata
from backend.imaging.tiff16 import TIFF_TAG_ERRORS, gray_alpha_tiff
from backend.imaging.variants import unsupported_variant

# Pillow's parsers raise a zoo of exception types on malformed headers: those it raises on a TIFF
# directory (UserWarning included: a short tag read under -W error), and ArithmeticError.
_HEADER_ERRORS = (*TIFF_TAG_ERRORS, ArithmeticError)


# Pillow turns every strip or tile of a TIFF page into a Python tuple as it opens the page, then decodes
# them one at a time: about 15 us a strip, and a strip costs 4 bytes of upload (two SHORT entries).
# 4 MB of one-row strips of a 1-pixel-wide image (1,000,000 of them) kept one decode busy for 13 s, and
# the 16-bit planar and gray+alpha readers (tiff_samples16) open the page again for each plane
# (262,144 strips: 6 s). 2**16 is about 1.5 s; it is every 32x32 tile of a 4096 x 4096 planar RGBA
# image (the default max_input_pixels), or 16,384 one-row strips in each of four planes. Real files
# have far fewer: libtiff writes strips of about 8 KB, tiles of 256 x 256 are usual.
MAX_TIFF_CHUNKS = 2**16
# Pillow's own (uncompressed) tile decoder takes a tile row's bytes as a C int: a TileWidth of 2**31
# (a few bytes in the header) raised OverflowError from image.load(). Real tiles are 16 to a few
# thousand pixels wide; this bound keeps a row of 16-bit RGBA (8 bytes a pixel) far below 2**31 bytes.
MAX_TIFF_TILE_WIDTH = 2**24
_TILE_WIDTH = 322
# (StripOffsets, StripByteCounts, TileOffsets, TileByteCounts) and how a first IFD is found and laid out.
_TIFF_CHUNK_TAGS = frozenset({273, 279, 324, 325})
_INLINE_INTEGERS = {3: "H", 4: "I", 16: "Q"}  # SHORT, LONG, LONG8 (BigTIFF): a value held in its entry
_TIFF_LAYOUTS = {  # magic -> (byte order, IFD offset format, entry count format, entry format)
    b"II*\0": ("<", "I", "H", "HHI"),
    b"MM\0*": (">", "I", "H", "HHI"),
    b"II+\0": ("<", "Q", "Q", "HHQ"),
    b"MM\0+": (">", "Q", "Q", "HHQ"),
}


def check_tiff_chunks(data: bytes) -> None:
    """Refuse a TIFF whose first page claims more than MAX_TIFF_CHUNKS strips or tiles (DecompressionBomb)
    or tiles wider than MAX_TIFF_TILE_WIDTH (TruncatedImage), from its first IFD alone, before Pillow
    reads a single value. Anything else is left to Pillow."""
    layout = _TIFF_LAYOUTS.get(data[:4])
    if layout is None:
        return
    order, offset_format, count_format, entry_format = layout
    offset_at = 8 if offset_format == "Q" else 4
    try:
        (first,) = struct.unpack_from(order + offset_format, data, offset_at)
        (entries,) = struct.unpack_from(order + count_format, data, first)
    except (struct.error, OverflowError):  # OverflowError: a BigTIFF offset past 2**63
        return  # a header cut short, or a first page past the end: Pillow says so
    offset_size = struct.calcsize(order + offset_format)  # also the size of an entry's value field
    entry_size = struct.calcsize(order + entry_format) + offset_size
    start = first + struct.calcsize(order + count_format)
    entries = min(entries, max(0, (len(data) - start) // entry_size))
    chunks = tile_width = 0
    for at in range(start, start + entries * entry_size, entry_size):
        tag, kind, count = struct.unpack_from(order + entry_format, data, at)
        if tag in _TIFF_CHUNK_TAGS:
            chunks = max(chunks, count)
        elif tag == _TILE_WIDTH and count == 1 and kind in _INLINE_INTEGERS:
            (tile_width,) = struct.unpack_from(order + _INLINE_INTEGERS[kind], data, at + entry_size - offset_size)
    if tile_width > MAX_TIFF_TILE_WIDTH:
        raise TruncatedImage(f"The TIFF header is corrupt: its tiles are {tile_width:,} pixels wide.")
    if chunks > MAX_TIFF_CHUNKS:
        raise DecompressionBomb(
            f"The TIFF's first page has {chunks:,} strips or tiles; the limit is {MAX_TIFF_CHUNKS:,} "
            "(larger strips or tiles hold the same image)."
        )


def open_header(data: bytes) -> Image.Image:
    """Parse only the header of `data` with Pillow. No pixel data is decoded yet.

    Raises EmptyUpload, InvalidImage (not an image we accept, or a whole file in a variant Pillow
    cannot read), TruncatedImage (recognisable but broken header) or DecompressionBomb (Pillow's own
    guard, which fires above 2 * Image.MAX_IMAGE_PIXELS).
    """
    if not data:
        raise EmptyUpload("The uploaded file is empty (0 bytes).")
    check_tiff_chunks(data)  # before Pillow builds a tuple per strip or tile
    try:
        # Pillow warns above Image.MAX_IMAGE_PIXELS; we check our own, usually lower, limit right after,
        # so the warning only matters when warnings are turned into errors (then it arrives as an exception).
        return Image.open(io.BytesIO(data), formats=INPUT_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DecompressionBomb(f"Image dimensions are too large to decode safely: {exc}") from exc
    except UnidentifiedImageError as exc:
        gray_alpha = gray_alpha_tiff(data)  # 16-bit gray+alpha, which Pillow cannot open: its stand-in
        if gray_alpha is None:
            raise _unidentified(data) from exc
        return open_header(gray_alpha.stand_in)
    except _HEADER_ERRORS as exc:
        kind = sniff_format(data) or "image"
        raise TruncatedImage(f"The {kind} header is truncated or corrupt: {exc}") from exc


def _unidentified(data: bytes) -> InvalidImage | TruncatedImage:
    """Why Pillow could not open `data`: not an image, a whole file in a variant it cannot read, or broken."""
    sniffed = sniff_format(data)
    accepted = ", ".join(INPUT_FORMATS)
    if sniffed is None:
        return InvalidImage(f"The file is not an image in a supported format ({accepted}).")
    if sniffed not in INPUT_FORMATS:
        return InvalidImage(f"The file is a {sniffed} image, which is not supported; use {accepted}.")
    unsupported = unsupported_variant(data, sniffed)
    if unsupported is not None:
        return InvalidImage(unsupported)
    return TruncatedImage(f"The file looks like a {sniffed} image but its header is truncated or corrupt.")


def check_pixel_limit(size: tuple[int, int], max_pixels: int) -> None:
    """Refuse images whose header claims more than `max_pixels` pixels (a decompression bomb guard)."""
    width, height = size
    if width <= 0 or height <= 0:
        raise InvalidImage(f"The image has an invalid size {width}x{height}.")
    if width * height > max_pixels:
        raise DecompressionBomb(
            f"The image is {width}x{height} = {width * height:,} pixels, above the limit of {max_pixels:,} pixels."
        )


# Every scan of a progressive JPEG is a pass over the whole coefficient buffer, and a scan can be
# a dozen bytes: 50 MB of repeated scans keep libjpeg busy for a quarter of an hour ("scan bomb").
# Encoders write about 10 (libjpeg's default progressive script has 10 for a colour image).
MAX_JPEG_SCANS = 256
# Never inside entropy-coded data, where a 0xFF byte is always followed by 0x00 or a marker; bytes
# in an APPn payload (EXIF, ICC) can only make the count too high, by chance, never too low.
_SOS = b"\xff\xda"


def check_jpeg_scans(data: bytes) -> None:
    """Refuse a JPEG with more than MAX_JPEG_SCANS start-of-scan markers, before libjpeg decodes it.

    Counted over the whole file: an EXIF thumbnail or an MPO's second image adds its own few.
    """
    scans = data.count(_SOS)
    if scans > MAX_JPEG_SCANS:
        raise DecompressionBomb(
            f"The JPEG has {scans:,} scans; the limit is {MAX_JPEG_SCANS} (real photos have about 10)."
        )


def probe_size(data: bytes) -> tuple[int, int]:
    """Return (width, height) from the header alone, before orientation; cheap enough for limit checks."""
    try:
        with open_header(data) as image:
            return image.size
    except TruncatedImage as exc:
        retry = without_refused_metadata(data, exc)  # as decode_image does
        if retry is None:
            raise
        with open_header(retry) as image:
            return image.size
