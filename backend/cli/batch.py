"""The run over all inputs: plan, load the model once, skip or refuse clashing targets, go on past failures."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from backend.cli.args import UsageError
from backend.cli.exit_codes import EXIT_FAILED, EXIT_OK
from backend.cli.inputs import expand_inputs
from backend.cli.messages import os_reason, print_result, say
from backend.cli.options import check_model, check_options, settings_from_args
from backend.cli.outputs import Job, plan_jobs, resolve_output
from backend.cli.signals import stopped
from backend.cli.upscale_file import upscale_file
from backend.errors import UpscaleError, UserError

if TYPE_CHECKING:
    from backend.models.manager import ModelManager
    from backend.models.realesrgan_model import RealESRGANUpscaler


@dataclass
class Report:
    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (input, reason)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    check_options(args, settings)
    # Name validation is cheap; fail before touching any file when the model cannot exist.
    entry = check_model(args, settings)
    model_name = entry.name
    if "-" in args.inputs or args.output == "-":
        raise UsageError("stdin and stdout ('-') are not supported: name files (./- for a file called '-')")
    if "" in args.inputs:  # almost always an unset variable (`upscale "$DIR"`); Path("") is the current folder
        raise UsageError("an INPUT is empty (an unset variable?): name a file, a folder or a glob")
    show_progress = _progress_wanted(args)
    report = Report()

    inputs = expand_inputs(args.inputs)
    files = inputs.files
    report.failed.extend(inputs.problems)
    if inputs.ignored:
        say(
            f"note: left out {inputs.ignored} file(s) named like earlier results (*_x4.png etc.); "
            "name them explicitly to upscale them"
        )
    output = resolve_output(args.output, len(files), args.format)
    fmt = output.fmt

    spec = entry.spec

    manager: ModelManager | None = None
    upscaler: RealESRGANUpscaler | None = None
    # The label in the file name needs the native scale, known before loading for official models.
    native = spec.scale if spec else None
    jobs: list[Job] = []
    if native is not None:
        jobs = plan_jobs(files, output, args.scale or native)

    def load() -> RealESRGANUpscaler:
        nonlocal manager, upscaler
        if upscaler is None:
            from backend.models.manager import ModelManager

            manager = ModelManager(settings)
            upscaler = manager.get(model_name, denoise_strength=args.denoise_strength)
        return upscaler

    if native is None and files:  # custom model: load it to learn its scale
        try:
            jobs = plan_jobs(files, output, args.scale or load().scale)
        except UpscaleError as exc:
            say(f"error: cannot load model {model_name!r}: {exc.message}")
            return EXIT_FAILED

    produced: dict[Path, Path] = {}
    input_keys = {source.resolve() for source in files}
    batch = tqdm(total=len(jobs), desc="images", unit="img", position=0, disable=not show_progress or len(jobs) < 2)
    try:
        for job in jobs:
            try:
                # os.path's, not Path.resolve: that raises RuntimeError on a symlink loop (Python 3.11)
                target_key = Path(os.path.realpath(job.target))
                in_place = target_key == job.source.resolve()
                if in_place and not args.overwrite:
                    raise UserError(f"output {job.target} is its own input (use --overwrite to replace it)")
                if target_key in input_keys and not in_place:
                    # Even with --overwrite: the user named it to be read, and may not have read it yet.
                    raise UserError(f"output {job.target} is also an input of this run; left alone")
                if target_key in produced:
                    raise UserError(f"output {job.target} was already written for {produced[target_key]}")
                if job.target.exists() and not args.overwrite:
                    say(f"skip: {job.target} exists (use --overwrite to replace it)")
                    report.skipped.append(job.source)
                    continue
                try:
                    current = load()
                except UpscaleError as exc:
                    # Every remaining image would fail the same way: stop here.
                    say(f"error: cannot load model {model_name!r}: {exc.message}")
                    report.failed.append((str(job.source), f"model failed to load: {exc.message}"))
                    break
                upscale_file(job, current, settings=settings, args=args, fmt=fmt, show_progress=show_progress)
                produced[target_key] = job.source
                report.done.append(job.target)
                say(f"ok: {job.source} -> {job.target}")
                print_result(job.target)
            except UpscaleError as exc:
                report.failed.append((str(job.source), exc.message))
                say(f"failed: {job.source}: {exc.message}")
            except BrokenPipeError:
                # Our messages' or results' reader went away, which is no fault of this image: stop (main handles it).
                raise
            except OSError as exc:
                # Raised outside reading and writing (checking the target): say which file.
                reason = f"{exc.filename}: {os_reason(exc)}" if exc.filename else os_reason(exc)
                report.failed.append((str(job.source), reason))
                say(f"failed: {job.source}: {reason}")
            finally:
                batch.update(1)
    except KeyboardInterrupt as exc:
        batch.close()
        return stopped(exc)
    batch.close()

    summary = f"{len(report.done)} upscaled, {len(report.skipped)} skipped, {len(report.failed)} failed"
    say(summary)
    if report.failed:
        say("failures:")
        for source, reason in report.failed:
            say(f"  {source}: {reason}")
        return EXIT_FAILED
    return EXIT_OK


def _progress_wanted(args: argparse.Namespace) -> bool:
    """Bars on a terminal only, unless asked: in a log file or a pipe they are lines of carriage
    returns. They go where the messages go: stderr, or stdout when stderr is closed."""
    if args.no_progress or args.progress:
        return args.progress
    stream = sys.stderr or sys.stdout
    return stream is not None and stream.isatty()
