"""Upscale image files from the command line: `upscale photo.jpg`, `python -m backend dir/ -o out/`.

Inputs may be files, folders (their visible images, not recursive) and glob patterns; folders and
globs leave out earlier results (`*_x4.png`). Each output goes next to its input as `name_x4.png`
unless `--output` names a file (one input) or a folder (`out/`). No output replaces an input of the
run, except its own input with `--overwrite`. Results are written to a temp file and renamed, so
Ctrl-C (exit 130), SIGTERM (exit 143) or a full disk never leaves a half image. When the reader of
its messages goes away (`upscale dir/ 2>&1 | head -1`) it stops quietly with exit 141, as `find | head`
does. Options the API would refuse are usage errors (exit 2). One failed file does not stop the
batch; failures are listed at the end and make the exit code non-zero.
"""

from __future__ import annotations

import argparse
import glob
import logging
import os
import re
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from pydantic import ValidationError
from tqdm import tqdm

from backend.errors import UpscaleError, UserError
from backend.settings import Settings, get_settings, invalid_settings, normalize_device

if TYPE_CHECKING:
    from backend.models.manager import ModelManager
    from backend.models.realesrgan_model import RealESRGANUpscaler

log = logging.getLogger("backend.cli")

FORMATS = ("png", "jpeg", "webp")
EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}
SUFFIX_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}
# Folder scans pick these; explicit files are decoded by content whatever their name.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".tga"}
_GLOB_CHARS = set("*?[")
# `_x4`, `_x2`, `_x1_5` (how we write 1.5) or `_x1.5`: the suffix plan_jobs gives every result.
_OUTPUT_STEM = re.compile(r"_x\d+(?:[._]\d+)?$")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what the shell shows for a producer killed by `| head`


class Terminated(KeyboardInterrupt):
    """SIGTERM (`timeout`, `kill`, a CI runner): stop as Ctrl-C does, so no temp file is left behind."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def _stopped(exc: KeyboardInterrupt) -> int:
    _say("terminated" if isinstance(exc, Terminated) else "interrupted")
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def _reader_gone() -> int:
    """Stop quietly after a write to a closed pipe (`upscale dir/ 2>&1 | head -1`), as `find | head` does.

    Python ignores SIGPIPE, so the write raised BrokenPipeError instead of killing us. We keep it that
    way rather than restore SIG_DFL: the signal could kill us between a temp file and its rename. The
    error comes from a message or a progress bar, never from writing an image, so the image whose
    `ok:` failed is already renamed into place, and one stopped mid-upscale has no temp file yet.
    """
    # Python flushes stdout and stderr at exit; a second BrokenPipeError there would print
    # "Exception ignored ..." (or a traceback). We cannot tell which stream broke, so mute both.
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    return EXIT_BROKEN_PIPE


class UsageError(Exception):
    """A command line that cannot work: reported like argparse's own errors, exit code 2."""


@dataclass
class Job:
    source: Path
    target: Path


@dataclass
class Report:
    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (input, reason)


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        # argparse's own message would name this function ("invalid _quality value")
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


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


class _Parser(argparse.ArgumentParser):
    """argparse, plus a hint when a file name that starts with '-' was taken for an option."""

    argv: Sequence[str] = ()

    def error(self, message: str) -> NoReturn:
        args = list(self.argv)
        before_dashes = args[: args.index("--")] if "--" in args else args
        for arg in before_dashes:
            if arg.startswith("-") and arg != "-" and os.path.isfile(arg):
                message += f" ({arg} is a file: write ./{arg} or put -- before it)"
                break
        super().error(message)


def build_parser() -> _Parser:
    parser = _Parser(
        prog="upscale",
        description="Upscale images with Real-ESRGAN (bundled weights work offline).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or glob patterns")
    parser.add_argument("-m", "--model", help="model name (default: settings DEFAULT_MODEL)")
    parser.add_argument(
        "-s", "--scale", type=float, help="output scale from 1 to MAX_SCALE, e.g. 2 or 3.5 (default: native)"
    )
    parser.add_argument(
        "-t", "--tile", type=_non_negative_int, help="tile size in input pixels; 0 = no tiling (default: settings)"
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
        type=float,
        help="realesr-general-x4v3 only: 0 = keep noise, 1 = strong denoise",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("-v", "--verbose", action="store_true", help="log engine details")
    return parser


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
        path = Path(pattern).expanduser()
        try:
            if path.is_dir():
                found = sorted(p for p in path.iterdir() if _is_scanned_image(p))
                if not found:
                    result.problems.append((pattern, "folder holds no images"))
                add_scanned(found)
            elif path.is_file():
                add(path)
            elif _GLOB_CHARS & set(pattern):
                found = sorted(Path(p) for p in glob.glob(os.path.expanduser(pattern), recursive=True))
                found = [p for p in found if p.is_file()]
                if not found:
                    result.problems.append((pattern, "no files match"))
                add_scanned(found)
            else:
                result.problems.append((pattern, "file not found"))
        except OSError as exc:  # e.g. a folder without read permission: one failed input, not a traceback
            what = "folder" if os.path.isdir(path) else "file"  # os.path never raises
            result.problems.append((pattern, f"cannot read {what}: {_os_reason(exc)}"))
    result.ignored = len(ignored - seen)  # a result also named explicitly was processed, not ignored
    return result


def _scale_label(scale: float) -> str:
    return f"{scale:g}".replace(".", "_") if scale != int(scale) else str(int(scale))


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
    path = Path(text)
    suffix = path.suffix.lower()
    if text.endswith(("/", os.sep)) or path.is_dir():
        return Output(path, False, fmt or "png")
    if count > 1:
        if path.is_file():
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


def _new_file_mode(target: Path) -> int:
    """The mode a plain open() would give: keep a replaced file's mode, else 0666 minus the umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        umask = os.umask(0)  # the only portable way to read it
        os.umask(umask)
        return 0o666 & ~umask


def _write_atomic(target: Path, data: bytes) -> None:
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


def check_options(args: argparse.Namespace, settings: Settings) -> None:
    """Apply the API's limits (scale, tile, quality, denoise) so the CLI accepts exactly what it does."""
    from backend.service.options import build_options

    try:
        build_options(
            settings,
            scale=args.scale,
            quality=args.quality,
            tile=args.tile,
            denoise_strength=args.denoise_strength,
        )
    except UserError as exc:
        raise UsageError(exc.message) from exc


def _settings_from_args(args: argparse.Namespace) -> Settings:
    update: dict[str, object] = {}
    if args.device:
        update["device"] = args.device
    if args.tile is not None:
        update["tile"] = args.tile
    # The CLI reads local files, so a second preloaded model or warmup would only cost time.
    update["preload_models"] = []
    update["warmup"] = False
    return get_settings().model_copy(update=update)


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return "part of the path is a file, not a folder"
    return exc.strerror or str(exc)


def _process(
    job: Job,
    upscaler: RealESRGANUpscaler,
    *,
    settings: Settings,
    args: argparse.Namespace,
    fmt: str,
    show_progress: bool,
) -> None:
    from backend.imaging import decode_image, encode_image
    from backend.service.limits import check_output_pixels, output_size

    try:
        raw = job.source.read_bytes()
    except OSError as exc:
        raise UpscaleError(f"cannot read {job.source}: {_os_reason(exc)}") from exc
    decoded = decode_image(raw, max_pixels=settings.max_input_pixels)
    # A huge --scale must fail with a message, not with the allocation of its canvas.
    check_output_pixels(settings, output_size(decoded.width, decoded.height, args.scale or upscaler.scale))
    total = upscaler.count_tiles(decoded.height, decoded.width, args.tile)
    with tqdm(
        total=total,
        desc=job.source.name[:30],
        unit="tile",
        leave=False,
        position=1,
        disable=not show_progress,
    ) as bar:

        def progress(done: int, total_tiles: int) -> None:
            # The engine may step the tile size down after an OOM, which changes the total.
            if bar.total != total_tiles:
                bar.total = total_tiles
            bar.n = done
            bar.refresh()

        pixels = upscaler.upscale(
            # gray: the luma of the float output rounded once, as the API does (not of rounded RGB)
            decoded.pixels,
            outscale=args.scale,
            tile=args.tile,
            progress=progress,
            gray=decoded.is_gray,
        )
    data = encode_image(
        pixels,
        fmt=fmt,
        quality=args.quality,
        icc_profile=decoded.icc_profile,
        png_color=decoded.png_color,
        gray=decoded.is_gray,
        png_compression=settings.png_compression,
    )
    try:
        _write_atomic(job.target, data)
    except OSError as exc:
        # The error's own filename may be a temp file or a parent folder: name what the user asked for.
        raise UpscaleError(f"cannot write {job.target}: {_os_reason(exc)}") from exc


def _say(message: str) -> None:
    tqdm.write(message, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    settings = _settings_from_args(args)
    check_options(args, settings)
    if "-" in args.inputs or args.output == "-":
        raise UsageError("stdin and stdout ('-') are not supported: name files (./- for a file called '-')")
    show_progress = not args.no_progress
    report = Report()

    inputs = expand_inputs(args.inputs)
    files = inputs.files
    report.failed.extend(inputs.problems)
    if inputs.ignored:
        _say(
            f"note: left out {inputs.ignored} file(s) named like earlier results (*_x4.png etc.); "
            "name them explicitly to upscale them"
        )
    output = resolve_output(args.output, len(files), args.format)
    fmt = output.fmt

    # Name validation is cheap; fail before touching any file when the model cannot exist.
    from backend.models.registry import OFFICIAL_MODELS, find_model, list_models

    model_name = args.model or settings.default_model
    try:
        entry = find_model(settings.models_dir, model_name)
    except UpscaleError as exc:
        message = exc.message
        if message.startswith("unknown model"):
            names = ", ".join(e.name for e in list_models(settings.models_dir))
            message += f"; available here: {names or 'none'}"
        _say(f"error: {message}")
        return EXIT_FAILED
    spec = OFFICIAL_MODELS.get(model_name)
    if args.denoise_strength is not None and (entry.spec is None or entry.spec.denoise_partner is None):
        with_denoise = ", ".join(s.name for s in OFFICIAL_MODELS.values() if s.denoise_partner)
        raise UsageError(f"--denoise-strength works only with {with_denoise}, not {model_name}")

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
            _say(f"error: cannot load model {model_name!r}: {exc.message}")
            return EXIT_FAILED

    produced: dict[Path, Path] = {}
    input_keys = {source.resolve() for source in files}
    batch = tqdm(total=len(jobs), desc="images", unit="img", position=0, disable=not show_progress or len(jobs) < 2)
    try:
        for job in jobs:
            try:
                target_key = job.target.resolve()
                in_place = target_key == job.source.resolve()
                if in_place and not args.overwrite:
                    raise UserError(f"output {job.target} is its own input (use --overwrite to replace it)")
                if target_key in input_keys and not in_place:
                    # Even with --overwrite: the user named it to be read, and may not have read it yet.
                    raise UserError(f"output {job.target} is also an input of this run; left alone")
                if target_key in produced:
                    raise UserError(f"output {job.target} was already written for {produced[target_key]}")
                if job.target.exists() and not args.overwrite:
                    _say(f"skip: {job.target} exists (use --overwrite to replace it)")
                    report.skipped.append(job.source)
                    continue
                try:
                    current = load()
                except UpscaleError as exc:
                    # Every remaining image would fail the same way: stop here.
                    _say(f"error: cannot load model {model_name!r}: {exc.message}")
                    report.failed.append((str(job.source), f"model failed to load: {exc.message}"))
                    break
                _process(job, current, settings=settings, args=args, fmt=fmt, show_progress=show_progress)
                produced[target_key] = job.source
                report.done.append(job.target)
                _say(f"ok: {job.source} -> {job.target}")
            except UpscaleError as exc:
                report.failed.append((str(job.source), exc.message))
                _say(f"failed: {job.source}: {exc.message}")
            except BrokenPipeError:
                # Our messages' reader went away, which is no fault of this image: stop (main handles it).
                raise
            except OSError as exc:
                # Raised outside reading and writing (checking the target): say which file.
                reason = f"{exc.filename}: {_os_reason(exc)}" if exc.filename else _os_reason(exc)
                report.failed.append((str(job.source), reason))
                _say(f"failed: {job.source}: {reason}")
            finally:
                batch.update(1)
    except KeyboardInterrupt as exc:
        batch.close()
        return _stopped(exc)
    batch.close()

    summary = f"{len(report.done)} upscaled, {len(report.skipped)} skipped, {len(report.failed)} failed"
    _say(summary)
    if report.failed:
        _say("failures:")
        for source, reason in report.failed:
            _say(f"  {source}: {reason}")
        return EXIT_FAILED
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    parser.argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    # Signal handlers live in the main thread; the old one comes back (main() also runs inside tests).
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        return _main(parser, args)
    except BrokenPipeError:
        return _reader_gone()
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
        _say(f"{parser.prog}: error: {exc}")
        return EXIT_USAGE
    except ValidationError as exc:  # a bad setting in the environment or .env: say which, no traceback
        for line in invalid_settings(exc):
            _say(line)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        return _stopped(exc)


if __name__ == "__main__":
    raise SystemExit(main())
