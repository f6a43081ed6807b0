"""Writing a result via a temp file and a rename, with the mode a plain open() would give it."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def _new_file_mode(target: Path) -> int:
    """The mode a plain open() would give: keep a replaced file's mode, else 0666 minus the umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        umask = os.umask(0)  # the only portable way to read it
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(target: Path, data: bytes) -> None:
    """Write via a temp file and rename, so an interrupted run never leaves a half image."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file 0600; results are ordinary files others may read.
        os.fchmod(fd, _new_file_mode(target))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
