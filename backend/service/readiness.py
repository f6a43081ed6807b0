"""Load and warm the default model in the background, so the server answers at once.

/api/health reports "loading" until this finishes, then "healthy" (or "unhealthy").
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Literal

from backend.settings import Settings

if TYPE_CHECKING:
    from backend.models.manager import ModelManager

log = logging.getLogger(__name__)

Status = Literal["loading", "healthy", "unhealthy"]


class Readiness:
    def __init__(self) -> None:
        self.status: Status = "loading"
        self.error: str | None = None
        self.seconds: float | None = None
        self._thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        return self.status == "healthy"

    def start(self, manager: ModelManager, settings: Settings) -> None:
        self._thread = threading.Thread(target=self._warm, args=(manager, settings), name="warmup", daemon=True)
        self._thread.start()

    def _warm(self, manager: ModelManager, settings: Settings) -> None:
        started = time.monotonic()
        try:
            if settings.warmup:
                manager.warmup(None)
            else:
                manager.get(None)
        except Exception as exc:  # the service stays up to report it
            log.exception("default model %r failed to load", settings.default_model)
            self.error = f"default model {settings.default_model!r} failed to load: {type(exc).__name__}"
            self.status = "unhealthy"
            return
        for name in settings.preload_models:
            try:
                manager.warmup(name) if settings.warmup else manager.get(name)
            except Exception:
                log.exception("preloading model %r failed", name)
        self.seconds = time.monotonic() - started
        log.info("model ready in %.1f s", self.seconds)
        self.status = "healthy"
