"""The Inpaint-Web upscaling service: `python api_server.py` or `uvicorn backend.api_server:app`.

`python api_server.py` (and `upscale-server`) bound request headers to MAX_HEADER_BYTES; the
uvicorn command line needs `--http h11 --h11-max-incomplete-event-size 65536` for the same.

api (HTTP, this file and backend/api/) -> service (queue, jobs) -> engine (backend/models/).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as `cd backend && python api_server.py`: make `backend` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import logging  # noqa: E402
import math  # noqa: E402
from collections.abc import AsyncIterator  # noqa: E402
from contextlib import asynccontextmanager  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

from fastapi import FastAPI  # noqa: E402
from pydantic import ValidationError  # noqa: E402
from starlette.concurrency import run_in_threadpool  # noqa: E402

from backend.api.auth import ApiKeyGate  # noqa: E402
from backend.api.docs import asset_paths, install_docs  # noqa: E402
from backend.api.errors import install_error_handlers  # noqa: E402
from backend.api.metrics import Metrics  # noqa: E402
from backend.api.middleware import HeadAsGet, JsonCORSMiddleware, RequestContextMiddleware  # noqa: E402
from backend.api.openapi_doc import install_openapi  # noqa: E402
from backend.api.root_path import RootPath  # noqa: E402
from backend.api.routes import jobs, system, upscale  # noqa: E402
from backend.api.routes import metrics as metrics_route  # noqa: E402
from backend.api.shutdown import call_on_exit_signals  # noqa: E402
from backend.service.core import UpscaleService  # noqa: E402
from backend.service.limits import max_upload_bytes  # noqa: E402
from backend.settings import Settings, get_settings, invalid_settings  # noqa: E402

if TYPE_CHECKING:
    from backend.models.manager import ModelManager

log = logging.getLogger("backend.api")

# Response headers a browser script may read (the frontend shows size, time and device).
EXPOSED_HEADERS = [
    "X-Process-Time",
    "X-Original-Size",
    "X-Output-Size",
    "X-Device",
    "X-Model",
    "X-Request-ID",
    "X-Batch-Succeeded",
    "X-Batch-Failed",
    "Retry-After",
    "Content-Disposition",
    # A page resuming a job result's download reads where the part sits and whether it is the same file.
    "Content-Range",
    "Accept-Ranges",
    "ETag",
    "Last-Modified",
]
# Request headers a browser script may send; Range and If-Range resume a job result's download.
ALLOWED_REQUEST_HEADERS = [
    "Content-Type",
    "Authorization",
    "X-API-Key",
    "X-Request-ID",
    "Last-Event-ID",
    "Range",
    "If-Range",
]
_MULTIPART_SLACK_BYTES = 256 * 1024  # form fields and part headers around the file(s)
_GRACEFUL_BACKSTOP_SECONDS = 3
# Request line plus headers. uvicorn's default parser (httptools) buffers header lines without
# any limit, so main() runs h11, which answers 400 and closes the connection once this many bytes
# of a request have come in without the end of its headers. A block that arrives whole in one
# socket read is parsed as it is (100 KiB sent at once passes, 200 KiB does not), so the most
# buffered is this plus one read. nginx reads at most 4 x 8 KiB of headers by default;
# big cookies set by other apps on the same domain still fit.
MAX_HEADER_BYTES = 64 * 1024


def _body_limit(settings: Settings):  # noqa: ANN202
    single = max_upload_bytes(settings) + _MULTIPART_SLACK_BYTES
    batch = max_upload_bytes(settings) * settings.max_batch_files + _MULTIPART_SLACK_BYTES

    def limit(path: str) -> int | None:
        return batch if path.rstrip("/") == "/api/upscale-batch" else single

    return limit


def create_app(settings: Settings | None = None, manager: ModelManager | None = None) -> FastAPI:
    settings = settings or get_settings()
    if manager is None:
        from backend.models.manager import ModelManager

        manager = ModelManager(settings)
    service = UpscaleService(settings, manager)
    metrics = Metrics()
    metrics.watch(service)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()  # worker, job reaper, and the model warm-up in the background
        call_on_exit_signals(service.begin_shutdown)
        log.info("serving on %s (replica %s, device %s)", settings.port, service.replica, manager.device.type)
        yield
        log.info("shutting down: finishing queued work within %.0f s", settings.shutdown_timeout)
        await run_in_threadpool(service.stop)

    app = FastAPI(
        title="Inpaint-Web upscaling service",
        version="0.1.0",
        description="Real-ESRGAN super-resolution with tiled inference on CUDA, MPS or CPU. "
        "Every error is JSON `{detail, code}`; when API keys are configured, send `X-API-Key` "
        "or `Authorization: Bearer`.",
        lifespan=lifespan,
        docs_url=None,  # install_docs serves /docs and /redoc without a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.metrics = metrics

    install_error_handlers(app)
    install_docs(app)
    install_openapi(app, settings)
    for router in (system.public, system.router, upscale.router, jobs.router, metrics_route.router):
        app.include_router(router)

    # Added first = inner: the key check runs before any body is read; request ids and the 500
    # guard sit inside CORS, so errors carry CORS headers too.
    open_paths = {route.path for route in system.public.routes} | asset_paths()  # /docs is open: so are its files
    app.add_middleware(ApiKeyGate, keys=settings.api_keys, open_paths=open_paths)
    app.add_middleware(RequestContextMiddleware, metrics=metrics, body_limit=_body_limit(settings))
    app.add_middleware(HeadAsGet)
    wildcard = "*" in settings.cors_origins
    app.add_middleware(
        JsonCORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=not wildcard,  # never `*` together with credentials
        allow_methods=["GET", "HEAD", "POST", "DELETE", "OPTIONS"],
        allow_headers=ALLOWED_REQUEST_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        max_age=600,
    )
    if settings.root_path:  # outermost: every layer inside sees the prefixed path, as under --root-path
        app.add_middleware(RootPath, root_path=settings.root_path)
    return app


def main() -> None:
    import uvicorn
    from uvicorn.config import TRACE_LOG_LEVEL

    settings = get_settings()
    # LOG_LEVEL=trace: uvicorn names its level only once it runs, and basicConfig needs the name now.
    logging.addLevelName(TRACE_LOG_LEVEL, "TRACE")
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        http="h11",
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        # A backstop: the service's own stop (started at the signal) ends open requests by SHUTDOWN_TIMEOUT.
        timeout_graceful_shutdown=math.ceil(settings.shutdown_timeout) + _GRACEFUL_BACKSTOP_SECONDS,
    )


try:
    app = create_app()
except ValidationError as exc:  # DEVICE=gpu, TILE=abc: one line each and exit 2, not a traceback
    for line in invalid_settings(exc):
        print(f"error: {line}", file=sys.stderr)
    raise SystemExit(2) from None

if __name__ == "__main__":
    main()
