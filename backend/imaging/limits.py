"""Open an upload lazily (header only) and enforce the pixel limit before any pixel is decoded."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from backend.errors import DecompressionBomb, EmptyUpload, InvalidImage, TruncatedImage
from backend.imaging.formats import INPUT_FORMATS, sniff_format
from backend.imaging.png_metadata import without_refused_metadata
from backend.imaging.tiff16 import gray_alpha_tiff
from backend.imaging.variants import unsupported_variant

# Pillow's parsers raise a zoo of exception types on malformed headers. UserWarning: Pillow warns on a
# short TIFF tag read, which arrives raised when warnings are turned into errors.
_HEADER_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ArithmeticError,
    UserWarning,
)


def open_header(data: bytes) -> Image.Image:
    """Parse only the header of `data` with Pillow. No pixel data is decoded yet.

    Raises EmptyUpload, InvalidImage (not an image we accept, or a whole file in a variant Pillow
    cannot read), TruncatedImage (recognisable but broken header) or DecompressionBomb (Pillow's own
    guard, which fires above 2 * Image.MAX_IMAGE_PIXELS).
    """
    if not data:
        raise EmptyUpload("The uploaded file is empty (0 bytes).")
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
