"""The command line: the parser, its value checks, and UsageError for lines it accepts that cannot work."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence
from importlib import metadata
from typing import NoReturn

from backend.settings import normalize_device

FORMATS = ("png", "jpeg", "webp")


class UsageError(Exception):
    """A command line that cannot work: reported like argparse's own errors, exit code 2."""


# ASCII digits only: int() and float() also take `1_5` (as 15) and other scripts' digits (`٣`).
_WHOLE = re.compile(r"\s*[+-]?(\d+)\s*", re.ASCII)
_DECIMAL = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*|\s*[+-]?(inf|infinity|nan)\s*", re.ASCII | re.I)
_DECIMAL_COMMA = re.compile(r"\s*[+-]?\d+,\d+\s*", re.ASCII)


def _whole_number(text: str) -> int:
    digits = _WHOLE.fullmatch(text)
    if not digits:
        # argparse's own message would name this function ("invalid _quality value")
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    try:
        return int(text)
    except ValueError:  # well formed, but over int()'s limit on digits (sys.get_int_max_str_digits)
        raise argparse.ArgumentTypeError(f"a whole number of {len(digits[1])} digits is too long") from None


def _number(text: str) -> float:
    """A decimal number; inf and nan pass, for the range check to refuse with the API's words."""
    if _DECIMAL_COMMA.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number (decimals take a dot: {text.strip().replace(',', '.')})"
        )
    if not _DECIMAL.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number")
    return float(text)


def _quality(text: str) -> int:
    value = _whole_number(text)
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError("must be between 1 and 100")
    return value


def _device(text: str) -> str:
    try:
        return normalize_device(text)
    except ValueError as exc:  # `--device gpu` is a usage error, not a silent run on the CPU
        raise argparse.ArgumentTypeError(str(exc)) from None


def _non_negative_int(text: str) -> int:
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _version() -> str:
    try:
        return metadata.version("inpaint-web-upscaler")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


_OPTIONAL_INPUTS = re.compile(r"(?<!INPUT )\[INPUT \.\.\.\]")


class _Parser(argparse.ArgumentParser):
    """argparse, plus a hint when a file name that starts with '-' was taken for an option."""

    argv: Sequence[str] = ()

    # INPUT is nargs="*" for parse_command_line's sake, but one is required: say so in the usage line.
    # Idempotent: parse_intermixed_args stores format_usage() as self.usage while it parses.
    def format_usage(self) -> str:
        return _OPTIONAL_INPUTS.sub("INPUT [INPUT ...]", super().format_usage())

    def format_help(self) -> str:
        return _OPTIONAL_INPUTS.sub("INPUT [INPUT ...]", super().format_help(), count=1)

    def error(self, message: str) -> NoReturn:
        args = list(self.argv)
        before_dashes = args[: args.index("--")] if "--" in args else args
        for arg in before_dashes:
            if arg.startswith("-") and arg != "-" and os.path.isfile(arg):
                message += f" ({arg} is a file: write ./{arg} or put -- before it)"
                break
        super().error(message)


# What a user needs before the first run: where results go, and what the exit status means.
_EPILOG = (
    "Each result goes next to its input, or into the --output folder, as NAME_x4.png (the scale: NAME_x2_5.png "
    "for -s 2.5); an existing one is skipped unless --overwrite. Folders and globs leave out files named like "
    "results. Each result written is named on stdout, one path a line, as it is written (`upscale dir/ | xargs "
    "...`); messages and progress go to stderr. Exit status: 0 all done, 1 a file failed, 2 a usage error, "
    "130 Ctrl-C, 143 SIGTERM, 141 the reader of the paths or messages went away."
)


def build_parser() -> _Parser:
    parser = _Parser(
        prog="upscale",
        description="Upscale images with Real-ESRGAN (bundled weights work offline).",
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("inputs", nargs="*", metavar="INPUT", help="image files, folders or glob patterns")
    parser.add_argument("-m", "--model", help="model name (default: settings DEFAULT_MODEL)")
    parser.add_argument(
        "-s", "--scale", type=_number, help="output scale from 1 to MAX_SCALE, e.g. 2 or 3.5 (default: the model's own)"
    )
    parser.add_argument(
        "-t", "--tile", type=_non_negative_int, help="tile size in input pixels; 0 = no tiling (default: settings TILE)"
    )
    parser.add_argument(
        "-f", "--format", choices=FORMATS, help="output format (default: from --output's suffix, else png)"
    )
    parser.add_argument("-q", "--quality", type=_quality, default=95, help="JPEG/WebP quality 1-100 (default: 95)")
    # Kept as text: Path() would drop the trailing slash that marks a folder.
    parser.add_argument(
        "-o",
        "--output",
        help="output file (one input; .png .jpg .jpeg .webp) or folder, e.g. out/ (default: next to each input)",
    )
    policy = parser.add_mutually_exclusive_group()
    policy.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    policy.add_argument(
        "--skip-existing", action="store_true", help="leave existing outputs alone and say so (the default)"
    )
    parser.add_argument("--device", type=_device, help="auto | cuda | cuda:N | mps | cpu (default: settings DEVICE)")
    parser.add_argument(
        "--denoise-strength",
        type=_number,
        help="realesr-general-x4v3 only: 0 = keep noise, 1 = strong denoise",
    )
    bars = parser.add_mutually_exclusive_group()
    bars.add_argument("--progress", action="store_true", help="progress bars even when stderr is not a terminal")
    bars.add_argument(
        "--no-progress", action="store_true", help="no progress bars (default when stderr is not a terminal)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log engine details")
    return parser


def parse_command_line(parser: _Parser, argv: Sequence[str]) -> argparse.Namespace:
    """Options may come between inputs (`upscale a.png -s 2 b.png`); everything after `--` is an input.

    parse_args ends INPUT at the first option. parse_intermixed_args does not, but Python 3.11's loses
    `--` when no INPUT comes before it (`upscale -s 2 -- -dash.png`), so `--` is handled here.
    """
    argv = list(argv)
    after_dashes: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, after_dashes = argv[:cut], argv[cut + 1 :]
    args = parser.parse_intermixed_args(argv)
    args.inputs = [*args.inputs, *after_dashes]
    if not args.inputs:
        parser.error("the following arguments are required: INPUT")
    return args
