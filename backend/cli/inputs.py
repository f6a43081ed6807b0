"""Which files a run reads: files, folders and globs expanded in order, earlier results left out of scans."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from backend.cli.messages import bad_link, os_reason

# Folder scans pick these; explicit files are decoded by content whatever their name.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".tga"}
_GLOB_CHARS = set("*?[")
# `_x4`, `_x2`, `_x1_5` (how we write 1.5) or `_x1.5`: the suffix plan_jobs gives every result.
_OUTPUT_STEM = re.compile(r"_x\d+(?:[._]\d+)?$")


@dataclass
class Inputs:
    files: list[Path] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (input, reason) for inputs that match nothing
    ignored: int = 0  # earlier results found by a folder scan or glob


def looks_like_output(path: Path) -> bool:
    """Named like our results (`a_x4.png`, `a_x1_5.png`), so a rerun on a folder does not upscale them again."""
    return _OUTPUT_STEM.search(path.stem) is not None


def _is_scanned_image(path: Path) -> bool:
    """Folder scans take visible image files: hidden ones (macOS `._x.png`, our temp files) are not the user's."""
    return not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()


def expand_inputs(patterns: Sequence[str]) -> Inputs:
    """Files to process, in order without duplicates. Scans skip earlier results; named files never are."""
    result = Inputs()
    seen: set[Path] = set()
    ignored: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            result.files.append(path)

    def add_scanned(found: list[Path]) -> None:
        for item in found:
            if looks_like_output(item):
                ignored.add(item.resolve())
            else:
                add(item)

    for pattern in patterns:
        path = Path(os.path.expanduser(pattern))  # Path.expanduser raises on `~nosuchuser/x.png`
        try:
            if path.is_dir():
                found = sorted(p for p in path.iterdir() if _is_scanned_image(p))
                if not found:
                    result.problems.append((pattern, "folder holds no images"))
                add_scanned(found)
            elif path.is_file():
                if pattern.endswith(("/", os.sep)):  # Path() drops the slash that asked for a folder
                    result.problems.append((pattern, "a file, not a folder"))
                else:
                    add(path)
            elif _GLOB_CHARS & set(pattern):
                found = sorted(Path(p) for p in glob.glob(os.path.expanduser(pattern), recursive=True))
                found = [p for p in found if p.is_file()]
                if not found:
                    result.problems.append((pattern, "no files match"))
                add_scanned(found)
            elif path.exists():  # a device, a FIFO or a socket: reading it could block or never end
                result.problems.append((pattern, "not a file or folder"))
            else:  # a symlink in the way is there to see: "not found" would send the user looking for a typo
                result.problems.append((pattern, bad_link(path) or "file not found"))
        except OSError as exc:  # e.g. a folder without read permission: one failed input, not a traceback
            what = "folder" if os.path.isdir(path) else "file"  # os.path never raises
            result.problems.append((pattern, f"cannot read {what}: {os_reason(exc)}"))
    result.ignored = len(ignored - seen)  # a result also named explicitly was processed, not ignored
    return result
