"""Whole files we do not upscale as they come: variants Pillow cannot read, and camera raw previews.

Pillow answers a variant it cannot read and a truncated or corrupt file with the same
UnidentifiedImageError. A user who uploads a float RGB TIFF should hear "not supported", not "your
file is broken", so we read just enough structure to see whether the file is whole. A camera raw
file Pillow does read, but only its small preview page (preview_page). A TIFF compression libtiff
cannot decode (WebP without its codec, JPEG 2000) fails only when the pixels are read, as damaged
data does: unsupported_compression tells the two apart by the compression tag.
"""

from __future__ import annotations

import io
import struct

from PIL import Image, TiffImagePlugin

from backend.imaging.tiff16 import TIFF_TAG_ERRORS

_WIDTH, _LENGTH, _BITS, _SAMPLES, _SAMPLE_FORMAT = 256, 257, 258, 277, 339
_SAMPLE_KINDS = {1: "integer", 2: "signed integer", 3: "floating-point"}
_SUPPORTED_TIFF = "8- or 16-bit integer gray, gray+alpha, RGB, RGBA or CMYK, or 32-bit gray"
_COMPRESSION = 259
# What the libtiff in Pillow's wheels decodes (tests/imaging/test_imaging_tiff_compressions.py checks
# each); when one of these fails, the data is damaged. Any other that fails is a variant we do not read.
_READ_COMPRESSIONS = frozenset({1, 2, 3, 4, 5, 7, 8, 32773, 32946, 34925, 50000})
_COMPRESSION_NAMES = {
    6: "old-style JPEG",
    32809: "ThunderScan",
    32909: "PixarLog",
    34661: "JBIG",
    34676: "SGILog",
    34677: "SGILog24",
    34712: "JPEG 2000",
    34887: "LERC",
    50001: "WebP",
    50002: "JPEG XL",
    52546: "JPEG XL",
}
_SUPPORTED_COMPRESSIONS = "LZW, Deflate (ZIP), ZSTD, LZMA, PackBits, JPEG or no compression"
_NEW_SUBFILE_TYPE, _DNG_VERSION = 254, 50706
_REDUCED_RESOLUTION = 1  # NewSubfileType bit 0: this page is a smaller version of another image
_EXPORT = "Export the photo as JPEG, PNG or TIFF and upload that."


def unsupported_variant(data: bytes, sniffed: str) -> str | None:
    """A user-facing message when `data` is a whole `sniffed` file in a layout we cannot decode, else None."""
    if sniffed == "TIFF":
        if data[:4] == b"MM\x00+":  # Pillow takes it for a classic TIFF (it checks the wrong byte)
            return "Big-endian BigTIFF is not supported; save the image as a classic or little-endian TIFF."
        compression = _first_page_compression(data)
        if compression is not None and compression not in _READ_COMPRESSIONS:
            return _compression_message(compression)
        layout = _tiff_layout(data)
        return None if layout is None else f"This TIFF variant ({layout}) is not supported; use {_SUPPORTED_TIFF}."
    if sniffed == "AVIF" and _boxes_fill_file(data):
        return "This AVIF file is complete but its variant cannot be decoded here (e.g. an unusual codec setup)."
    return None


def unsupported_compression(image: Image.Image) -> str | None:
    """A user-facing message when an opened TIFF whose pixels failed to decode uses a compression we
    do not read, else None (then the data is damaged)."""
    tags = getattr(image, "tag_v2", None)
    if image.format != "TIFF" or tags is None:
        return None
    compression = tags.get(_COMPRESSION, 1)
    if not isinstance(compression, int) or compression in _READ_COMPRESSIONS:
        return None
    return _compression_message(compression)


def _compression_message(compression: int) -> str:
    name = _COMPRESSION_NAMES.get(compression, f"code {compression}")
    return f"This TIFF uses {name} compression, which cannot be decoded here; save it with {_SUPPORTED_COMPRESSIONS}."


def _first_ifd(data: bytes) -> TiffImagePlugin.ImageFileDirectory_v2:
    """The first page's tags; raises one of TIFF_TAG_ERRORS when they cannot be read."""
    big = data[2:4] == b"+\x00"  # little-endian BigTIFF: a 16-byte header with a 64-bit first offset
    directory = TiffImagePlugin.ImageFileDirectory_v2(data[: 16 if big else 8])
    directory.load(_at(data, directory.next))
    return directory


def _first_page_compression(data: bytes) -> int | None:
    try:
        compression = _first_ifd(data).get(_COMPRESSION, 1)
    except TIFF_TAG_ERRORS:
        return None
    return compression if isinstance(compression, int) else None


def _tiff_layout(data: bytes) -> str | None:
    """'3 channels of 32-bit floating-point' from the first IFD, or None when the IFD is cut short.

    Pillow drops (with a warning) any tag it cannot read in full, so a truncated IFD shows up as
    missing or inconsistent dimension and sample tags.
    """
    try:
        directory = _first_ifd(data)
        width, length, bits = directory.get(_WIDTH), directory.get(_LENGTH), directory.get(_BITS)
        samples = directory.get(_SAMPLES, 1)
        kinds = directory.get(_SAMPLE_FORMAT, (1,))
    except TIFF_TAG_ERRORS:
        return None
    if not width or not length or not isinstance(bits, tuple) or len(bits) != samples:
        return None
    kind = _SAMPLE_KINDS.get(kinds[0] if isinstance(kinds, tuple) else kinds, "unknown")
    depth = f"{bits[0]}-bit" if len(set(bits)) == 1 else "/".join(map(str, bits)) + "-bit"
    return f"{samples} channel{'s' if samples != 1 else ''} of {depth} {kind}"


def _at(data: bytes, offset: int) -> io.BytesIO:
    stream = io.BytesIO(data)
    stream.seek(offset)
    return stream


def _boxes_fill_file(data: bytes) -> bool:
    """ISO-BMFF (AVIF, HEIC): the top-level boxes tile the file exactly, so nothing is cut off."""
    position = 0
    while position + 8 <= len(data):
        size = struct.unpack_from(">I", data, position)[0]
        if size == 1 and position + 16 <= len(data):
            size = struct.unpack_from(">Q", data, position + 8)[0]  # a 64-bit "largesize"
        elif size == 0:
            size = len(data) - position  # the last box runs to the end of the file
        if size < 8:
            return False
        position += size
    return position == len(data)


def preview_page(image: Image.Image) -> str | None:
    """A user-facing message when an opened TIFF's first page is a reduced-resolution preview, else None.

    Camera raw files are TIFFs laid out so: DNG, NEF and ARW keep a small preview on page one and the
    sensor data elsewhere (a SubIFD Pillow does not read). Upscaling the preview would hand back a
    thumbnail as if it were the photo.
    """
    tags = getattr(image, "tag_v2", None)
    if image.format != "TIFF" or tags is None:
        return None
    subfile_type = tags.get(_NEW_SUBFILE_TYPE, 0)
    if not isinstance(subfile_type, int) or not subfile_type & _REDUCED_RESOLUTION:
        return None
    if _DNG_VERSION in tags:
        return f"This is a camera raw (DNG) file: its first page is a small preview, not the photo. {_EXPORT}"
    return (
        "The first page of this TIFF is a small preview of another image, not the photo (camera raw files "
        f"such as NEF or ARW are laid out this way). {_EXPORT}"
    )
