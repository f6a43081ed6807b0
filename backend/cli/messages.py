"""What the command tells the user: lines on stderr that keep clear of progress bars, OS errors in words,
and each written result's path on stdout, for a script to read."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

from tqdm import tqdm

# What the OS says when a path goes through a looping or dangling symlink: ELOOP or ENOENT, or
# EEXIST/ENOTDIR from mkdir and open, which see a link that is there but is not a folder.
_BAD_LINK_SYMPTOMS = {errno.ELOOP, errno.ENOENT, errno.EEXIST, errno.ENOTDIR}


def say(message: str) -> None:
    tqdm.write(message, file=sys.stderr)


def print_result(path: Path) -> None:
    """The path of a result just written, on stdout (`upscale dir/ | xargs ...`). Flushed at once: a
    pipe's reader gets it now, and a reader gone raises BrokenPipeError here, not at exit."""
    if sys.stdout is None:  # `>&-`: nobody to tell
        return
    tqdm.write(str(path), file=sys.stdout)
    sys.stdout.flush()


def _link_target(link: Path) -> str:
    try:
        return os.readlink(link)
    except OSError:  # replaced since we looked
        return "a missing place"


def bad_link(path: str | os.PathLike[str]) -> str | None:
    """Why `path` cannot be followed when a symlink in it (from the root down) loops or leads nowhere."""
    candidate = Path(path)
    for part in [*reversed(candidate.parents), candidate]:
        if not os.path.islink(part):
            continue
        try:
            os.stat(part)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return f"{part} is a symlink loop (it leads back to itself)"
            if exc.errno == errno.ENOENT:
                return f"{part} is a symlink to {_link_target(part)}, which does not exist"
    return None


def os_reason(exc: OSError) -> str:
    if exc.errno in _BAD_LINK_SYMPTOMS and isinstance(exc.filename, (str, bytes)):
        reason = bad_link(os.fsdecode(exc.filename))
        if reason is not None:
            return reason
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return "part of the path is a file, not a folder"
    return exc.strerror or str(exc)
