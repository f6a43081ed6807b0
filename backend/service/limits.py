"""Size limits, checked from the upload and the image header before anything is decoded."""

from __future__ import annotations

from backend.errors import DecompressionBomb, ImageTooLarge
from backend.settings import Settings

# A header whose pixel count dwarfs the file size is a bomb, not a big photo:
# even a flat PNG needs about one byte per 1000 pixels.
_BOMB_PIXELS_PER_BYTE = 1000


class UploadTooLarge(ImageTooLarge):
    code = "upload_too_large"


class OutputTooLarge(ImageTooLarge):
    code = "output_too_large"


def max_upload_bytes(settings: Settings) -> int:
    return int(settings.max_upload_mb * 1024 * 1024)


def check_upload_size(settings: Settings, size: int) -> None:
    if size > max_upload_bytes(settings):
        raise UploadTooLarge(f"upload is {size} bytes; the limit is {settings.max_upload_mb:g} MB")


def check_input_pixels(settings: Settings, width: int, height: int, file_size: int) -> None:
    pixels = width * height
    if pixels <= settings.max_input_pixels:
        return
    if pixels > file_size * _BOMB_PIXELS_PER_BYTE:
        raise DecompressionBomb(f"image header claims {width}x{height} pixels in a {file_size}-byte file")
    raise ImageTooLarge(f"image is {width}x{height} = {pixels} pixels; the limit is {settings.max_input_pixels}")


def output_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """The size the engine produces: round(W*s) x round(H*s)."""
    return max(1, round(width * scale)), max(1, round(height * scale))


def check_output_pixels(settings: Settings, size: tuple[int, int]) -> None:
    width, height = size
    if width * height > settings.max_output_pixels:
        raise OutputTooLarge(
            f"output would be {width}x{height} = {width * height} pixels; the limit is {settings.max_output_pixels}"
        )
