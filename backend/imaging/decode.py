"""decode_image: bytes from an upload -> upright RGB(A) uint8/uint16 pixels plus what encode needs."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from backend.errors import DecompressionBomb, InvalidImage, TruncatedImage
from backend.imaging.bmp32 import raw_bmp_alpha
from backend.imaging.jpeg_end import with_end_marker
from backend.imaging.limits import check_jpeg_scans, check_pixel_limit, open_header
from backend.imaging.modes import PixelData, image_to_pixels, wide_png_pixels, with_alpha
from backend.imaging.orientation import apply_orientation, read_orientation
from backend.imaging.png16 import is_wide_png, read_wide_png
from backend.imaging.png_color import PngColor, from_png_info
from backend.imaging.png_metadata import without_refused_metadata
from backend.imaging.tiff16 import (
    GrayAlphaTiff,
    gray_alpha_tiff,
    load_planar_tiff,
    read_gray_alpha_tiff,
    read_planar_tiff,
    read_wide_tiff,
    wide_tiff,
)
from backend.imaging.variants import preview_page, unsupported_compression

# What Pillow raises when the pixel data ends early or is corrupt.
# OverflowError and struct.error: Pillow's decoders on absurd sizes (a TileWidth of 2**31 raised the
# first until limits.open_header refused it); a backstop, so such a file is a 422, never a 500.
_PIXEL_DATA_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, zlib.error, OverflowError, struct.error)
# frame_count is informational, and counting GIF or TIFF frames walks the file: Pillow's n_frames
# takes quadratic time over a TIFF's pages (100,000 one-pixel pages in 11 MB: 50 s). Count this far.
MAX_COUNTED_FRAMES = 1000
_WALKED_FORMATS = ("GIF", "TIFF")


@dataclass(frozen=True)
class DecodedImage:
    pixels: np.ndarray  # (H, W, 3|4) uint8 or uint16, RGB(A), EXIF orientation applied
    format: str  # container format as Pillow names it: "PNG", "JPEG", "WEBP", "GIF", ...
    mode: str  # the original Pillow mode, e.g. "P", "CMYK", "I;16" (a 16-bit RGB PNG reports "RGB")
    icc_profile: bytes | None
    is_gray: bool  # the source was grayscale; pixels still hold 3 equal channels (+ alpha)
    has_alpha: bool  # pixels have a 4th channel
    bit_depth: int  # 8 or 16, matching pixels.dtype
    frame_count: int = 1  # >1 for animations (up to MAX_COUNTED_FRAMES); only the first frame is decoded
    png_color: PngColor | None = None  # a PNG's gAMA/cHRM/sRGB, kept only when it has no ICC profile

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def decode_image(data: bytes, *, max_pixels: int) -> DecodedImage:
    """Decode an upload by its content (never its name), applying EXIF orientation.

    Animated images (GIF, APNG, animated WebP) give their first frame. Raises EmptyUpload,
    InvalidImage, TruncatedImage or DecompressionBomb from backend.errors.
    """
    try:
        return _decode(data, max_pixels)
    except TruncatedImage as exc:
        # A PNG refused for its metadata: the pixels without it. A JPEG without its end marker: with it.
        retry = without_refused_metadata(data, exc) or with_end_marker(data, max_pixels)
        if retry is None:
            raise
        return _decode(retry, max_pixels)


def _decode(data: bytes, max_pixels: int) -> DecodedImage:
    with open_header(data) as image:
        check_pixel_limit(image.size, max_pixels)  # before a single pixel is decoded
        preview = preview_page(image)  # a camera raw file's thumbnail is not the photo
        if preview is not None:
            raise InvalidImage(preview)
        source_format = "JPEG" if image.format == "MPO" else image.format
        source_mode = image.mode
        if source_format == "JPEG":
            check_jpeg_scans(data)
        # 16-bit gray+alpha TIFF: `image` is a stand-in (see open_header), opened as 16-bit gray.
        gray_alpha = gray_alpha_tiff(data) if image.format == "TIFF" and image.mode.startswith("I;16") else None
        if gray_alpha is not None and gray_alpha.extra:
            source_mode = "LA"  # as Pillow names a 16-bit gray+alpha PNG
        pixel_data = _decode_first_frame(image, data, gray_alpha)
        orientation = read_orientation(image)  # after loading: a PNG's eXIf chunk may follow the pixels
        frame_count = _frame_count(image, data if gray_alpha is None else gray_alpha.stand_in)
    # gAMA/cHRM/sRGB rule only without iCCP (the PNG spec; browsers do the same)
    png_color = from_png_info(image.info) if pixel_data.icc_profile is None and source_format == "PNG" else None
    return DecodedImage(
        pixels=apply_orientation(pixel_data.pixels, orientation),
        format=source_format,
        mode=source_mode,
        icc_profile=pixel_data.icc_profile,
        is_gray=pixel_data.is_gray,
        has_alpha=pixel_data.has_alpha,
        bit_depth=pixel_data.bit_depth,
        frame_count=frame_count,
        png_color=png_color,
    )


def _frame_count(image: Image.Image, data: bytes) -> int:
    """How many frames (pages) the file holds, up to MAX_COUNTED_FRAMES.

    PNG, WebP and MPO declare the count in a header. GIF and TIFF frames are walked on a second,
    header-only open, so the decoded image keeps its state, and without decoding any pixels.
    """
    if image.format not in _WALKED_FORMATS:
        return int(getattr(image, "n_frames", 1))
    with Image.open(io.BytesIO(data), formats=(image.format,)) as probe:
        count = 1
        while count < MAX_COUNTED_FRAMES:
            try:
                if probe.format == "GIF":
                    probe._seek(count, False)  # what GIF's n_frames does: the frame's header only
                else:
                    probe.seek(count)  # a TIFF page's tags, no pixel data
            except Exception:  # noqa: BLE001 - EOFError at the end; a broken later frame is no error here
                break
            count += 1
    return count


def _decode_first_frame(image: Image.Image, data: bytes, gray_alpha: GrayAlphaTiff | None) -> PixelData:
    wide_png = is_wide_png(image)
    tiff = wide_tiff(image)
    bmp_alpha = raw_bmp_alpha(image, data)  # before the load, which forgets the pixel layout
    channels = None
    try:
        if wide_png:
            channels = read_wide_png(image, data)
        elif gray_alpha is not None:
            channels = read_gray_alpha_tiff(data, gray_alpha)  # the stand-in `image` is never loaded
        elif tiff is not None and not tiff.planar:
            channels = read_wide_tiff(image, data, tiff)
        elif tiff is not None:
            channels = read_planar_tiff(image, data, tiff)  # `image` stays unloaded: decode applies orientation
            if channels is None:
                load_planar_tiff(image, tiff)  # a compression read at 8 bits only, but right (see tiff16)
        else:
            image.load()  # a full load, so data that ends early is caught here and not in the model
    except Image.DecompressionBombError as exc:
        raise DecompressionBomb(f"Image dimensions are too large to decode safely: {exc}") from exc
    except _PIXEL_DATA_ERRORS as exc:
        unsupported = unsupported_compression(image)  # libtiff fails alike on a codec it lacks
        if unsupported is not None:
            raise InvalidImage(unsupported) from exc
        raise TruncatedImage(f"The image data is truncated or corrupt: {exc}") from exc
    if wide_png:
        return wide_png_pixels(channels, image.info.get("transparency"), image.info.get("icc_profile") or None)
    if channels is not None:  # 16-bit TIFF
        return wide_png_pixels(channels, None, image.info.get("icc_profile") or None)
    pixels = image_to_pixels(image)
    return pixels if bmp_alpha is None else with_alpha(pixels, bmp_alpha)
