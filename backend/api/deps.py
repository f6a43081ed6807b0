"""Dependencies shared by the routes: the service, and the upscale options.

Options are accepted both as query parameters (the old client sent `?scale=`) and as
multipart form fields; a form field wins when both are given.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Query, Request

from backend.service.core import UpscaleService
from backend.service.options import UpscaleOptions, build_options


def get_service(request: Request) -> UpscaleService:
    return request.app.state.service


ServiceDep = Annotated[UpscaleService, Depends(get_service)]

_MODEL = "Model name (GET /api/models); default: the server's default model"
_SCALE = "Output scale (float), 1 to MAX_SCALE; default: the model's native scale"
_FORMAT = "Output format: png (default), jpeg or webp"
_QUALITY = "JPEG/WebP quality, 1-100 (default 95)"
_TILE = "Tile size in input pixels; 0 = no tiling; default: server setting"
_DENOISE = "realesr-general-x4v3 only: denoise strength 0-1, in steps of 0.01"


def upscale_options(
    request: Request,
    model_q: Annotated[str | None, Query(alias="model", description=_MODEL)] = None,
    scale_q: Annotated[float | None, Query(alias="scale", gt=0, description=_SCALE)] = None,
    format_q: Annotated[str | None, Query(alias="format", description=_FORMAT)] = None,
    quality_q: Annotated[int | None, Query(alias="quality", ge=1, le=100, description=_QUALITY)] = None,
    tile_q: Annotated[int | None, Query(alias="tile", ge=0, description=_TILE)] = None,
    denoise_q: Annotated[float | None, Query(alias="denoise_strength", ge=0, le=1, description=_DENOISE)] = None,
    model_f: Annotated[str | None, Form(alias="model", description=_MODEL)] = None,
    scale_f: Annotated[float | None, Form(alias="scale", gt=0, description=_SCALE)] = None,
    format_f: Annotated[str | None, Form(alias="format", description=_FORMAT)] = None,
    quality_f: Annotated[int | None, Form(alias="quality", ge=1, le=100, description=_QUALITY)] = None,
    tile_f: Annotated[int | None, Form(alias="tile", ge=0, description=_TILE)] = None,
    denoise_f: Annotated[float | None, Form(alias="denoise_strength", ge=0, le=1, description=_DENOISE)] = None,
) -> UpscaleOptions:
    def pick(form_value, query_value):  # noqa: ANN001, ANN202 - tiny local helper
        return form_value if form_value is not None else query_value

    return build_options(
        request.app.state.settings,
        model=pick(model_f, model_q),
        scale=pick(scale_f, scale_q),
        fmt=pick(format_f, format_q),
        quality=pick(quality_f, quality_q),
        tile=pick(tile_f, tile_q),
        denoise_strength=pick(denoise_f, denoise_q),
    )


OptionsDep = Annotated[UpscaleOptions, Depends(upscale_options)]
