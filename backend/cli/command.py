"""The `upscale` entry point: parse, set the SIGTERM handler and logging, turn errors into exit codes."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from pydantic import ValidationError

from backend.cli.args import UsageError, _Parser, build_parser, parse_command_line
from backend.cli.batch import run
from backend.cli.exit_codes import EXIT_USAGE
from backend.cli.messages import say
from backend.cli.signals import raise_terminated, reader_gone, stopped
from backend.settings import invalid_settings

log = logging.getLogger("backend.cli")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    parser.argv = sys.argv[1:] if argv is None else argv
    args = parse_command_line(parser, parser.argv)
    # Signal handlers live in the main thread; the old one comes back (main() also runs inside tests).
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, raise_terminated) if in_main_thread else None
    try:
        return _main(parser, args)
    except BrokenPipeError as exc:
        return reader_gone(exc)
    finally:
        if previous is not None:  # None: a handler not set from Python, which cannot be restored
            signal.signal(signal.SIGTERM, previous)


def _main(parser: _Parser, args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return run(args)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        say(f"{parser.prog}: error: {exc}")
        return EXIT_USAGE
    except ValidationError as exc:  # a bad setting in the environment or .env: say which, no traceback
        for line in invalid_settings(exc):
            say(line)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        return stopped(exc)
