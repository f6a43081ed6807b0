"""What the command tells the user: lines on stderr that keep clear of progress bars, OS errors in words."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

from tqdm import tqdm

# What the OS says when a path goes through a symlink loop: ELOOP, or EEXIST/ENOTDIR from mkdir and
# open, which see a link that is there but is not a folder.
_LOOP_SYMPTOMS = {errno.ELOOP, errno.EEXIST, errno.ENOTDIR}


def say(message: str) -> None:
    tqdm.write(message, file=sys.stderr)


def looping_link(path: str | os.PathLike[str]) -> Path | None:
    """The first part of `path` (from the root down) that is a symlink leading back to itself, if any."""
    candidate = Path(path)
    for part in [*reversed(candidate.parents), candidate]:
        if os.path.islink(part):
            try:
                os.stat(part)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    return part
    return None


def os_reason(exc: OSError) -> str:
    if exc.errno in _LOOP_SYMPTOMS and isinstance(exc.filename, (str, bytes)):
        link = looping_link(os.fsdecode(exc.filename))
        if link is not None:
            return f"{link} is a symlink loop (it leads back to itself)"
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return "part of the path is a file, not a folder"
    return exc.strerror or str(exc)
