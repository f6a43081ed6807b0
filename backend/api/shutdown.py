"""Start the service's shutdown at the signal, not after uvicorn has waited for open requests.

uvicorn, on SIGTERM, stops accepting connections and waits for open requests to end (for as
long as they take, unless `--timeout-graceful-shutdown` is given), and only then runs the
lifespan shutdown. A request waiting for a queued job, or a job's event stream, would keep it
waiting. Starting the stop at the signal lets queued and running jobs finish or be cancelled
within SHUTDOWN_TIMEOUT, so those requests end too: with their result, a 503, or a `done` event.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

log = logging.getLogger(__name__)

_EXIT_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def call_on_exit_signals(callback: Callable[[], None]) -> None:
    """Run `callback` when SIGTERM or SIGINT arrives, then the handler that was there (uvicorn's)."""
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread (e.g. not under a test client)
    for sig in _EXIT_SIGNALS:
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue  # no server captures this signal: leave the default behaviour alone

        def handler(signum: int, frame: FrameType | None, previous: Callable = previous) -> None:
            try:
                callback()
            except Exception:  # the server's own handler must still run
                log.exception("shutdown callback failed")
            previous(signum, frame)

        signal.signal(sig, handler)
