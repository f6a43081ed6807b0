"""Dependencies shared by the routes: the service, and the upscale options.

Options are accepted both as query parameters (the old client sent `?scale=`) and as
multipart form fields; a form field wins when both are given. A field sent twice in the query or
twice in the form is a 422 that names it (it used to be the last one, silently). A form field the
route does not take (`outscale`, `scal`, `face_enhance`) is a 422 that names it, where it used to
be ignored; unknown query parameters stay accepted (cache busters such as `?t=123`). Ranges are
checked by `build_options` alone, so `scale=nan`, `scale=0` and `scale=1e309` get the same
message as `scale=64`: the field and its allowed range.
"""

from __future__ import annotations

import difflib
from typing import Annotated

from fastapi import Depends, Form, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from backend.errors import UserError
from backend.models.registry import MODEL_NAME_PATTERN
from backend.service.core import UpscaleService
from backend.service.options import FORMATS, UpscaleOptions, build_options


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
_MIN_1 = {"minimum": 1}
_PERCENT, _UNIT = {"minimum": 1, "maximum": 100}, {"minimum": 0, "maximum": 1}
# An empty value (`-F format=` from a script's unset variable) means the default, as an absent one
# does; `jpg`, `.PNG` and the like are accepted besides the canonical names listed. Scale's maximum
# and tile's ranges come from the settings (openapi_doc.py).
_FORMATS = {"enum": ["", *FORMATS]}
MODEL_NAME_SCHEMA = {"pattern": MODEL_NAME_PATTERN}
_MODEL_OPTION = {"pattern": f"^$|{MODEL_NAME_PATTERN}"}
OPTION_FIELDS = ("model", "scale", "format", "quality", "tile", "denoise_strength")
_QUERY_NOTE = " (query parameter; the form field wins; other query parameters are ignored)"
_SHOWN_NAME = 60  # a field name echoed in an error is cut here: it is the client's text


class DuplicateField(UserError):
    code = "duplicate_field"
    status = 422


class UnknownField(UserError):
    code = "unknown_field"
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


async def reject_unknown(request: Request) -> None:
    """422 naming any form field the route does not take, with the ones it does.

    FastAPI drops unknown fields, so `-F outscale=2` (the inference script's name) or `-F scal=2`
    ran at the default scale and the user never learned why. Query parameters are not checked:
    browsers and proxies add cache busters, and they never name an option by mistake as often.
    """
    if not _is_form(request):
        return
    accepted = _accepted_fields(request.scope.get("route"))
    form = await request.form()
    unknown = [name for name in dict.fromkeys(form.keys()) if name not in accepted]
    if not unknown:
        return
    shown = ", ".join(_describe(name, accepted) for name in unknown[:5])
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    plural = "s" if len(unknown) > 1 else ""
    raise UnknownField(f"unknown form field{plural} {shown}{more}; this route takes: {', '.join(accepted)}")


def _describe(name: str, accepted: tuple[str, ...]) -> str:
    shown = repr(name if len(name) <= _SHOWN_NAME else name[:_SHOWN_NAME] + "...")
    # `outscale` and `scal` are near `scale`: the hint is what makes the 422 quick to fix.
    close = difflib.get_close_matches(name.lower(), accepted, n=1, cutoff=0.6)
    return f"{shown} (did you mean {close[0]!r}?)" if close else shown


def _accepted_fields(route: object) -> tuple[str, ...]:
    """The form fields `route` declares (its file field and the options), in declaration order.

    Read from the route, so a field added to a route is accepted without a list to keep in step.
    A walk over a few objects per upload; APIRoute is unhashable, so there is no cache.
    """
    if not isinstance(route, APIRoute):  # not expected; the union of every upload route's fields
        return ("file", "files", *OPTION_FIELDS)
    return tuple(dict.fromkeys(_body_fields(route.dependant)))


def _body_fields(dependant: Dependant) -> list[str]:
    names = [param.alias for param in dependant.body_params]
    for sub in dependant.dependencies:
        names.extend(_body_fields(sub))
    return names


def _is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded"))


async def single_file(request: Request) -> None:
    """For the routes that take one `file`: a second one is an error, not ignored."""
    await reject_repeated(request, ("file",))


async def upscale_options(
    request: Request,
    picked_model_q: Annotated[
        str | None, Query(alias="model", description=_MODEL + _QUERY_NOTE, json_schema_extra=_MODEL_OPTION)
    ] = None,
    scale_q: Annotated[
        float | None, Query(alias="scale", description=_SCALE + _QUERY_NOTE, json_schema_extra=_MIN_1)
    ] = None,
    format_q: Annotated[
        str | None, Query(alias="format", description=_FORMAT + _QUERY_NOTE, json_schema_extra=_FORMATS)
    ] = None,
    quality_q: Annotated[
        int | None, Query(alias="quality", description=_QUALITY + _QUERY_NOTE, json_schema_extra=_PERCENT)
    ] = None,
    tile_q: Annotated[int | None, Query(alias="tile", description=_TILE + _QUERY_NOTE)] = None,
    denoise_q: Annotated[
        float | None, Query(alias="denoise_strength", description=_DENOISE + _QUERY_NOTE, json_schema_extra=_UNIT)
    ] = None,
    picked_model_f: Annotated[
        str | None, Form(alias="model", description=_MODEL, json_schema_extra=_MODEL_OPTION)
    ] = None,
    scale_f: Annotated[float | None, Form(alias="scale", description=_SCALE, json_schema_extra=_MIN_1)] = None,
    format_f: Annotated[str | None, Form(alias="format", description=_FORMAT, json_schema_extra=_FORMATS)] = None,
    quality_f: Annotated[int | None, Form(alias="quality", description=_QUALITY, json_schema_extra=_PERCENT)] = None,
    tile_f: Annotated[int | None, Form(alias="tile", description=_TILE)] = None,
    denoise_f: Annotated[
        float | None, Form(alias="denoise_strength", description=_DENOISE, json_schema_extra=_UNIT)
    ] = None,
) -> UpscaleOptions:
    await reject_unknown(request)
    await reject_repeated(request, OPTION_FIELDS)

    def pick(form_value, query_value):  # noqa: ANN001, ANN202 - tiny local helper
        return form_value if form_value is not None else query_value

    return build_options(
        request.app.state.settings,
        model=pick(picked_model_f, picked_model_q),
        scale=pick(scale_f, scale_q),
        fmt=pick(format_f, format_q),
        quality=pick(quality_f, quality_q),
        tile=pick(tile_f, tile_q),
        denoise_strength=pick(denoise_f, denoise_q),
    )


OptionsDep = Annotated[UpscaleOptions, Depends(upscale_options)]
