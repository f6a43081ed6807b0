"""Stopping early: SIGTERM and Ctrl-C end the run with 143 and 130, a reader that went away with a quiet 141."""

from __future__ import annotations

import os

from backend.cli.exit_codes import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_TERMINATED
from backend.cli.messages import say


class Terminated(KeyboardInterrupt):
    """SIGTERM (`timeout`, `kill`, a CI runner): stop as Ctrl-C does, so no temp file is left behind."""


def raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def stopped(exc: KeyboardInterrupt) -> int:
    say("terminated" if isinstance(exc, Terminated) else "interrupted")
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def reader_gone() -> int:
    """Stop quietly after a write to a closed pipe (`upscale dir/ 2>&1 | head -1`), as `find | head` does.

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
    return EXIT_BROKEN_PIPE
