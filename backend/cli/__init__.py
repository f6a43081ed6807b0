"""Upscale image files from the command line: `upscale photo.jpg`, `python -m backend dir/ -o out/`.

Inputs may be files, folders (their visible images, not recursive) and glob patterns; folders and
globs leave out earlier results (`*_x4.png`). Each output goes next to its input as `name_x4.png`
unless `--output` names a file (one input) or a folder (`out/`). No output replaces an input of the
run, except its own input with `--overwrite`. Results are written to a temp file and renamed, so
Ctrl-C (exit 130), SIGTERM (exit 143) or a full disk never leaves a half image. Each result's path
goes to stdout as it is written (`upscale dir/ | xargs ...`); messages go to stderr. When the reader
of either goes away (`upscale dir/ | head -1`) it stops quietly with exit 141, as `find | head` does.
Options the API would refuse are usage errors (exit 2). One failed file does not stop the batch;
failures are listed at the end and make the exit code non-zero.

Modules: args (the parser and UsageError), inputs (files, folders and globs to read), outputs (where
each result goes), upscale_file (one image), atomic_write (temp file and rename), options (Settings
from the arguments, within the API's limits), batch (the run over all inputs), signals (SIGTERM,
Ctrl-C, a reader gone), messages (stderr lines, result paths, OS errors in words), exit_codes, command (main).
"""

from backend.cli.args import FORMATS, UsageError, build_parser, parse_command_line
from backend.cli.batch import Report, run
from backend.cli.command import main
from backend.cli.exit_codes import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
)
from backend.cli.inputs import IMAGE_SUFFIXES, Inputs, expand_inputs, looks_like_output
from backend.cli.options import check_options
from backend.cli.outputs import EXTENSIONS, SUFFIX_FORMATS, Job, Output, plan_jobs, resolve_output
from backend.cli.signals import Terminated

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "EXTENSIONS",
    "FORMATS",
    "IMAGE_SUFFIXES",
    "SUFFIX_FORMATS",
    "Inputs",
    "Job",
    "Output",
    "Report",
    "Terminated",
    "UsageError",
    "build_parser",
    "check_options",
    "expand_inputs",
    "looks_like_output",
    "main",
    "parse_command_line",
    "plan_jobs",
    "resolve_output",
    "run",
]
