"""Dependencies shared by the routes: the service, and the upscale options.

Options are accepted both as query parameters (the old client sent `?scale=`) and as
multipart form fields; a form field wins when both are given. A field sent twice in the query or
twice in the form is a 422 that names it (it used to be the last one, silently). Ranges are
checked by `build_options` alone, so `scale=nan`, `scale=0` and `scale=1e309` get the same
message as `scale=64`: the field and its allowed range.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Query, Request

from backend.errors import UserError
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
# Shown in /docs only; build_options checks every range, with messages that name the field.
_MIN_0, _MIN_1 = {"minimum": 0}, {"minimum": 1}
_PERCENT, _UNIT = {"minimum": 1, "maximum": 100}, {"minimum": 0, "maximum": 1}
OPTION_FIELDS = ("model", "scale", "format", "quality", "tile", "denoise_strength")


class DuplicateField(UserError):
    code = "duplicate_field"
    status = 422


async def reject_repeated(request: Request, names: tuple[str, ...]) -> None:
    """422 if one of `names` comes twice in the query string or twice in the form.

    FastAPI keeps only the last value, so `-F scale=2 -F scale=3` would quietly run at 3 and
    `-F file=@a.png -F file=@b.png` would upscale only b.png. The form is parsed already (and
    cached on the request) by the time dependencies run.
    """
    form = await request.form() if _is_form(request) else None
    for name in names:
        for where, values in (("query parameter", request.query_params), ("form field", form)):
            count = len(values.getlist(name)) if values is not None else 0
            if count > 1:
                raise DuplicateField(f"{where} {name!r} was sent {count} times; send it once")


def _is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded"))


async def single_file(request: Request) -> None:
    """For the routes that take one `file`: a second one is an error, not ignored."""
    await reject_repeated(request, ("file",))


async def upscale_options(
    request: Request,
    model_q: Annotated[str | None, Query(alias="model", description=_MODEL)] = None,
    scale_q: Annotated[float | None, Query(alias="scale", description=_SCALE, json_schema_extra=_MIN_1)] = None,
    format_q: Annotated[str | None, Query(alias="format", description=_FORMAT)] = None,
    quality_q: Annotated[int | None, Query(alias="quality", description=_QUALITY, json_schema_extra=_PERCENT)] = None,
    tile_q: Annotated[int | None, Query(alias="tile", description=_TILE, json_schema_extra=_MIN_0)] = None,
    denoise_q: Annotated[
        float | None, Query(alias="denoise_strength", description=_DENOISE, json_schema_extra=_UNIT)
    ] = None,
    model_f: Annotated[str | None, Form(alias="model", description=_MODEL)] = None,
    scale_f: Annotated[float | None, Form(alias="scale", description=_SCALE, json_schema_extra=_MIN_1)] = None,
    format_f: Annotated[str | None, Form(alias="format", description=_FORMAT)] = None,
    quality_f: Annotated[int | None, Form(alias="quality", description=_QUALITY, json_schema_extra=_PERCENT)] = None,
    tile_f: Annotated[int | None, Form(alias="tile", description=_TILE, json_schema_extra=_MIN_0)] = None,
    denoise_f: Annotated[
        float | None, Form(alias="denoise_strength", description=_DENOISE, json_schema_extra=_UNIT)
    ] = None,
) -> UpscaleOptions:
    await reject_repeated(request, OPTION_FIELDS)

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
