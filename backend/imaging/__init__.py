"""Decoding uploads and encoding results, at the edges of the pipeline.

    decode_image(data, *, max_pixels) -> DecodedImage   # upright RGB(A) uint8/uint16 pixels
    encode_image(pixels, *, fmt, quality, icc_profile, gray, png_compression) -> bytes
    check_output_size(fmt, width, height)               # the format's side limit, before any work
    probe_size(data) -> (width, height)                 # header only, for limit checks
    MEDIA_TYPES                                         # output format -> Content-Type

Modules: formats (names, magic bytes), limits (header + pixel limit), modes (Pillow modes -> arrays),
png16 (16-bit colour PNG), tiff16 (16-bit colour and gray+alpha TIFF), tiff_samples16 (16-bit TIFF
planes and sample pairs read as gray pages), bmp32 (32-bit BMP alpha), png_metadata (PNG metadata
Pillow refuses), png_color (gAMA/cHRM/sRGB carried to the result), icc_build (the ICC profiles it
writes), icc_gray (a grey profile as RGB, for WebP), jpeg_end (a JPEG without its end marker),
variants (whole files we refuse: unreadable variants, raw previews), orientation (EXIF), icc,
pixels (numpy helpers), decode, encode.
"""

from backend.imaging.decode import DecodedImage, decode_image
from backend.imaging.encode import check_output_size, encode_image
from backend.imaging.formats import INPUT_FORMATS, MEDIA_TYPES, normalize_output_format
from backend.imaging.limits import check_pixel_limit, probe_size

__all__ = [
    "INPUT_FORMATS",
    "MEDIA_TYPES",
    "DecodedImage",
    "check_output_size",
    "check_pixel_limit",
    "decode_image",
    "encode_image",
    "normalize_output_format",
    "probe_size",
]
