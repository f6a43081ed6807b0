"""Stopping early: SIGTERM and Ctrl-C exit 143 and 130 (even with the reader gone); a reader gone alone, 141."""

from __future__ import annotations

import os

from backend.cli.exit_codes import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_TERMINATED
from backend.cli.messages import say


class Terminated(KeyboardInterrupt):
    """SIGTERM (`timeout`, `kill`, a CI runner): stop as Ctrl-C does, so no temp file is left behind."""


def raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def _stop_code(exc: KeyboardInterrupt) -> int:
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def stopped(exc: KeyboardInterrupt) -> int:
    say("terminated" if isinstance(exc, Terminated) else "interrupted")
    return _stop_code(exc)


def _stop_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM being handled when `exc` was raised, if any (Python's __context__ chain)."""
    seen: set[int] = set()
    context = exc.__context__
    while context is not None and id(context) not in seen:
        if isinstance(context, KeyboardInterrupt):
            return context
        seen.add(id(context))
        context = context.__context__
    return None


def reader_gone(exc: BrokenPipeError) -> int:
    """Stop quietly after a write to a closed pipe (`upscale dir/ 2>&1 | head -1`), as `find | head` does.

    When the write that failed was the "interrupted" line of a Ctrl-C (which the terminal sends to the
    whole pipeline, so `head` may be gone first), the exit is still the stop's 130 or 143: that is
    what the user asked for, and what a script checking for Ctrl-C expects.

    Python ignores SIGPIPE, so the write raised BrokenPipeError instead of killing us. We keep it that
    way rather than restore SIG_DFL: the signal could kill us between a temp file and its rename. The
    error comes from a message or a progress bar, never from writing an image, so the image whose
    `ok:` failed is already renamed into place, and one stopped mid-upscale has no temp file yet.
    """
    # Python flushes stdout and stderr at exit; a second BrokenPipeError there would print
    # "Exception ignored ..." (or a traceback). We cannot tell which stream broke, so mute both.
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    stop = _stop_behind(exc)
    return EXIT_BROKEN_PIPE if stop is None else _stop_code(stop)
