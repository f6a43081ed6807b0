"""Where each result goes: `--output` read as a file or a folder, and one job (input, target) per input."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from backend.cli.args import UsageError
from backend.cli.inputs import IMAGE_SUFFIXES

EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}
SUFFIX_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}


@dataclass
class Job:
    source: Path
    target: Path


def _scale_label(scale: float) -> str:
    """`4`, `2_5`, `1_0000001`: every digit the scale needs, so two different scales never share a name."""
    if scale == int(scale):
        return str(int(scale))
    # repr is the shortest text that reads back as the same float; `:g` kept 6 digits (1.0000001 -> 1).
    return repr(float(scale)).replace(".", "_")


@dataclass(frozen=True)
class Output:
    """Where -o sends results: one named file, a folder, or (path None) next to each input."""

    path: Path | None
    is_file: bool
    fmt: str


def resolve_output(text: str | None, count: int, fmt: str | None) -> Output:
    """Read -o as the user typed it (a trailing / means a folder); raise UsageError when it cannot work."""
    if text is None:
        return Output(None, False, fmt or "png")
    if not text:  # almost always an unset variable (`-o "$OUT"`); Path("") would mean the current folder
        raise UsageError("--output is empty (an unset variable?): name a file or a folder such as out/")
    # As for inputs: the shell leaves `--output=~/out/` as typed. os.path's never raises (~nosuchuser).
    path = Path(os.path.expanduser(text))
    suffix = path.suffix.lower()
    # os.path's checks, not Path's: those raise OSError on a name too long for the system.
    if text.endswith(("/", os.sep)) or os.path.isdir(path):
        return Output(path, False, fmt or "png")
    if count > 1:
        if os.path.isfile(path):
            raise UsageError(f"--output {text} is a file, but there are {count} inputs")
        if suffix in SUFFIX_FORMATS or suffix in IMAGE_SUFFIXES:
            raise UsageError(
                f"--output {text} names one image, but there are {count} inputs (end it with / for a folder)"
            )
        return Output(path, False, fmt or "png")
    if not suffix:
        return Output(path, False, fmt or "png")
    implied = SUFFIX_FORMATS.get(suffix)
    if implied is None:
        known = ", ".join(SUFFIX_FORMATS)
        raise UsageError(f"--output {text}: cannot write {suffix!r} files; use {known} (or end it with / for a folder)")
    if fmt is not None and fmt != implied:
        raise UsageError(f"--format {fmt} contradicts --output {text}, which names a {implied} file")
    return Output(path, True, implied)


def plan_jobs(files: list[Path], output: Output, scale: float) -> list[Job]:
    """Where each output goes: next to its input, into a folder, or (one input) to a named file."""
    name = "{stem}_x" + _scale_label(scale) + EXTENSIONS[output.fmt]
    jobs = []
    for source in files:
        if output.is_file and output.path is not None:
            target = output.path
        else:
            folder = output.path if output.path is not None else source.parent
            target = folder / name.format(stem=source.stem)
        jobs.append(Job(source, target))
    return jobs
