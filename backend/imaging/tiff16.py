"""16-bit colour TIFF, which Pillow cannot hold: it decodes 16-bit RGB/RGBA TIFFs to 8 bits.

Reading works as in png16: Pillow's own TIFF decoding is kept and only the unpacker that turns
each raw pixel into 8-bit channels is swapped. Every wide TIFF goes through libtiff (which Pillow
ships and already uses for every compressed TIFF), because libtiff does the rest for us: LZW,
deflate, PackBits and the other compressions, predictors, strips and tiles, and either byte order
(it hands samples back in the machine's order). We decode twice:
- once keeping the high byte of each sample (the machine-order unpacker, e.g. "RGB;16L" on x86),
- once keeping the low byte (the other byte order's unpacker applied to the same data),
and join the two. Associated (premultiplied) alpha is read as it is stored and divided out at 16
bits, rather than by Pillow at 8 bits. Pillow applies the EXIF orientation itself as it loads a
TIFF (and drops the tag), so both passes come back upright.

Planar ("separate") files: Pillow's libtiff decoder picks the unpacker of each plane itself, so
no byte can be chosen there; instead each plane is read as a 16-bit gray image of its own (see
tiff_samples16). Planar files in a compression that module does not rewrite (e.g. JPEG) stay
8-bit, read through libtiff, which, unlike Pillow's own reader, unpacks uncompressed 16-bit planes
correctly. Unlike the contiguous path, the page itself is not loaded, so its EXIF orientation is
left for decode to apply (and ICC is read from the header as before).

16-bit gray+alpha (2 samples, ExtraSamples) is refused by Pillow as it opens the file. For these
`gray_alpha_tiff` gives a stand-in file that Pillow opens (for the size, orientation, ICC and page
count) and `read_gray_alpha_tiff` reads the samples, contiguous or planar, again through
tiff_samples16. ExtraSamples is read as Pillow reads 8-bit "LA" files: 2 unassociated alpha,
1 associated (divided out at 16 bits here), 0 unspecified (dropped, leaving gray).
"""

from __future__ import annotations

import io
import struct
import sys
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFile, TiffImagePlugin, features
from PIL import __version__ as PILLOW_VERSION

from backend.imaging.pixels import unpremultiply
from backend.imaging.tiff_samples16 import Chunks, as_tuple, read_chunks, read_interleaved_pair, read_planes, stand_in

_PHOTOMETRIC, _BITS, _SAMPLES, _PLANAR, _EXTRA_SAMPLES, _SAMPLE_FORMAT = 262, 258, 277, 284, 338, 339
_MIN_IS_BLACK, _RGB = 1, 2
_UNSIGNED = 1
_UNSPECIFIED, _ASSOCIATED_ALPHA, _UNASSOCIATED_ALPHA = 0, 1, 2
# What Pillow raises on a TIFF directory it cannot read (UserWarning: a short tag read, under -W error).
# struct.error: Pillow misreads a big-endian BigTIFF header as a classic one and runs out of bytes.
TIFF_TAG_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    UserWarning,
    struct.error,
)
_PLANAR_SEPARATE = 2
# Which byte of a machine-order 16-bit sample an unpacker keeps: the ";16L" unpackers keep byte 1.
_HIGH, _LOW = ("L", "B") if sys.byteorder == "little" else ("B", "L")
_HAS_LIBTIFF = features.check_codec("libtiff")
_PILLOW_MAJOR = int(PILLOW_VERSION.split(".")[0])


@dataclass(frozen=True)
class WideTiff:
    """How to read one 16-bit RGB(A) TIFF page."""

    layout: str  # the raw pixel: "RGB", "RGBX" (a 4th sample we drop) or "RGBA"
    premultiplied: bool  # associated alpha: colour is stored multiplied by alpha
    planar: bool  # one plane per channel (see the module docstring)


def wide_tiff(image: Image.Image) -> WideTiff | None:
    """The layout of a not-yet-loaded 16-bit RGB or RGBA TIFF that Pillow would narrow, else None."""
    if image.format != "TIFF" or image.mode not in ("RGB", "RGBA") or not _libtiff_usable(image):
        return None
    tags = image.tag_v2
    bits = tags.get(_BITS)
    formats = tags.get(_SAMPLE_FORMAT, (_UNSIGNED,))
    formats = formats if isinstance(formats, tuple) else (formats,)
    if tags.get(_PHOTOMETRIC) != _RGB or not isinstance(bits, tuple) or set(bits) != {16}:
        return None
    if set(formats) != {_UNSIGNED}:
        return None
    extra = tags.get(_EXTRA_SAMPLES, ())
    extra = extra if isinstance(extra, tuple) else (extra,)
    planar = tags.get(_PLANAR, 1) == _PLANAR_SEPARATE
    # Pillow reads RGB from 3 samples, or from 4 whose 4th is unspecified (it drops that one).
    rgb_layout = "RGBX" if tags.get(_SAMPLES, 3) == 4 and not planar else "RGB"
    layout = "RGBA" if image.mode == "RGBA" else rgb_layout
    return WideTiff(layout, premultiplied=bool(extra) and extra[0] == _ASSOCIATED_ALPHA, planar=planar)


def _compression_arg(image: Image.Image) -> tuple[str, ...]:
    """Pillow 10-12's libtiff decoder also takes the compression name; 13 dropped it."""
    return () if _PILLOW_MAJOR >= 13 else (image._compression,)


def _libtiff_usable(image: Image.Image) -> bool:
    """Pillow has libtiff, and the internals we rely on (as in png16) are where we expect them."""
    return (
        _HAS_LIBTIFF
        and hasattr(image, "use_load_libtiff")
        and hasattr(image, "_tile_size")
        and getattr(image, "tag_v2", None) is not None
        and bool(image.tile)
    )


def _load_through_libtiff(image: Image.Image, rawmode: str) -> np.ndarray:
    """Load the page with libtiff and the given unpacker; -> the pixels as Pillow holds them."""
    width, height = image._tile_size
    # (unpacker, [compression: Pillow < 13,] file descriptor: none, this page's IFD)
    args = (rawmode, *_compression_arg(image), False, image.tag_v2.offset)
    fields = ("libtiff", (0, 0, width, height), 0, args)
    tile_type = getattr(ImageFile, "_Tile", None)  # Pillow >= 11 names the fields of a tile
    image.use_load_libtiff = True
    image.tile = [tile_type(*fields) if tile_type else fields]
    image.load()
    return np.asarray(image)


def load_planar_tiff(image: Image.Image, layout: WideTiff) -> None:
    """Load a planar 16-bit RGB(A) page at 8 bits through libtiff (the rawmode only names the mode)."""
    _load_through_libtiff(image, f"{layout.layout};16N")


def read_planar_tiff(image: Image.Image, data: bytes, layout: WideTiff) -> np.ndarray | None:
    """Decode a planar page for which `wide_tiff(image)` gave `layout` -> (H, W, 3|4) uint16, straight
    colour, not yet upright; or None when its compression or layout is not one tiff_samples16 reads
    (then `load_planar_tiff`). `image` is not loaded. Pillow's errors on bad data propagate."""
    chunks = read_chunks(image.tag_v2)
    planes = read_planes(data, chunks, len(layout.layout.rstrip("X"))) if chunks is not None else None
    if planes is None:
        return None
    pixels = np.dstack(planes)
    if layout.premultiplied:
        return np.dstack([unpremultiply(pixels[..., :3], pixels[..., 3]), pixels[..., 3]])
    return pixels


@dataclass(frozen=True)
class GrayAlphaTiff:
    """A 16-bit gray+alpha TIFF page, which Pillow cannot open."""

    stand_in: bytes  # the upload with a first page Pillow opens in its place (header only)
    chunks: Chunks  # where the page's strips or tiles are
    planar: bool
    extra: int  # ExtraSamples: 0 unspecified, 1 associated alpha, 2 unassociated alpha


def gray_alpha_tiff(data: bytes) -> GrayAlphaTiff | None:
    """How to read `data` when its first page is 16-bit unsigned gray+alpha, else None (cheap: one IFD)."""
    if not _HAS_LIBTIFF or data[:4] not in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        return None
    bigtiff = data[2:4] in (b"+\0", b"\0+")
    try:
        tags = TiffImagePlugin.ImageFileDirectory_v2(data[:16] if bigtiff else data[:8])
        stream = io.BytesIO(data)
        stream.seek(tags.next)
        tags.load(stream)  # a short tag read: a warning, and the tag is dropped (as in variants)
    except TIFF_TAG_ERRORS:
        return None
    extra = as_tuple(tags.get(_EXTRA_SAMPLES, ()))
    if (
        tags.get(_PHOTOMETRIC) != _MIN_IS_BLACK
        or tags.get(_SAMPLES) != 2
        or as_tuple(tags.get(_BITS)) != (16, 16)
        or set(as_tuple(tags.get(_SAMPLE_FORMAT, _UNSIGNED))) != {_UNSIGNED}
        or len(extra) != 1
        or extra[0] not in (_UNSPECIFIED, _ASSOCIATED_ALPHA, _UNASSOCIATED_ALPHA)
    ):
        return None
    chunks = read_chunks(tags)
    planar = tags.get(_PLANAR, 1) == _PLANAR_SEPARATE
    if chunks is None or len(chunks.offsets) != chunks.per_plane * (2 if planar else 1):
        return None
    replacement = stand_in(data, chunks, tags, 0 if bigtiff else tags.next)
    return None if replacement is None else GrayAlphaTiff(replacement, chunks, planar, extra[0])


def read_gray_alpha_tiff(data: bytes, layout: GrayAlphaTiff) -> np.ndarray:
    """Decode the page `gray_alpha_tiff(data)` described -> (H, W, 2) uint16 gray+straight alpha, or
    (H, W, 1) gray for an unspecified extra sample; not yet upright. Pillow's errors propagate."""
    if layout.planar:
        planes = read_planes(data, layout.chunks, 2)
        pixels = None if planes is None else np.dstack(planes)
    else:
        pixels = read_interleaved_pair(data, layout.chunks)
    if pixels is None:
        raise ValueError("the TIFF strips or tiles do not fit in the file")
    if layout.extra == _UNSPECIFIED:
        return pixels[..., :1]
    if layout.extra == _ASSOCIATED_ALPHA:
        return np.dstack([unpremultiply(pixels[..., :1], pixels[..., 1]), pixels[..., 1]])
    return pixels


def read_wide_tiff(image: Image.Image, data: bytes, layout: WideTiff) -> np.ndarray:
    """Decode a contiguous page for which `wide_tiff(image)` gave `layout` -> (H, W, 3|4) uint16.

    `image` is the not-yet-loaded Pillow image opened from `data` (its first page); it ends up
    loaded. Colour comes back straight (not premultiplied). Pillow's errors on bad data propagate.
    """
    with Image.open(io.BytesIO(data), formats=["TIFF"]) as high_pass:
        high = _load_through_libtiff(high_pass, f"{layout.layout};16{_HIGH}")
    low = _load_through_libtiff(image, f"{layout.layout};16{_LOW}")
    pixels = (high.astype(np.uint16) << 8) | low
    if layout.premultiplied:
        return np.dstack([unpremultiply(pixels[..., :3], pixels[..., 3]), pixels[..., 3]])
    return pixels
