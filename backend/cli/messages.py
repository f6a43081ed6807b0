"""What the command tells the user: lines on stderr that keep clear of progress bars, OS errors in words."""

from __future__ import annotations

import sys

from tqdm import tqdm


def say(message: str) -> None:
    tqdm.write(message, file=sys.stderr)


def os_reason(exc: OSError) -> str:
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return "part of the path is a file, not a folder"
    return exc.strerror or str(exc)
