"""Errors that cross layer boundaries, each with a stable machine-readable code.

The API maps `UserError` subclasses to 4xx responses; anything else is a 500.
"""

from __future__ import annotations


class UpscaleError(Exception):
    """Base class for every error this package raises on purpose."""

    code = "upscale_error"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UserError(UpscaleError):
    """The caller asked for something invalid: a 4xx."""

    code = "bad_request"
    status = 400


class InvalidImage(UserError):
    code = "invalid_image"
    status = 415


class EmptyUpload(UserError):
    code = "empty_upload"
    status = 400


class TruncatedImage(UserError):
    code = "truncated_image"
    status = 422


class ImageTooLarge(UserError):
    code = "image_too_large"
    status = 413


class DecompressionBomb(ImageTooLarge):
    code = "decompression_bomb"


class UnsupportedOption(UserError):
    code = "unsupported_option"
    status = 422


class ModelNotFound(UserError):
    code = "model_not_found"
    status = 404


class InvalidModelName(UserError):
    code = "invalid_model_name"
    status = 422


class Cancelled(UpscaleError):
    """The job was cancelled or its client went away; not an error to report."""

    code = "cancelled"
    status = 499


class OutOfDeviceMemory(UpscaleError):
    """Even the smallest tile did not fit."""

    code = "out_of_memory"
    status = 507


class ModelLoadError(UpscaleError):
    code = "model_load_failed"
    status = 500


class RetryLater(UpscaleError):
    """No room for the work now: a 503 with Retry-After, which clients (and nginx) retry."""

    code = "unavailable"
    status = 503

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}
