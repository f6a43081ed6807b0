"""Download official Real-ESRGAN checkpoints into the models directory.

Streams with httpx, shows a tqdm bar, resumes a partial `.part` file with a Range request,
retries with exponential backoff, verifies the sha256 when the registry knows it (else that
the file loads as weights of the right architecture and scale), and only then renames the
file into place, so the models directory never holds half a checkpoint or an HTML page.
One download per target at a time: a `<file>.lock` beside it serialises concurrent runs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from filelock import FileLock, Timeout
from tqdm import tqdm

from backend.errors import ModelLoadError, ModelNotFound, UpscaleError
from backend.models.registry import OFFICIAL_MODELS, ModelSpec, validate_model_name
from backend.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_RETRIES = 4
DEFAULT_BACKOFF = 1.0  # seconds; doubles after each failed attempt
CONNECT_RETRIES = 2  # no route / DNS failure rarely heals in seconds: say so soon
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=15.0)


class DownloadError(UpscaleError):
    code = "download_failed"


class NetworkUnreachable(DownloadError):
    """The download host could not be reached at all (DNS, refused, connect timeout)."""

    code = "network_unreachable"


class ChecksumMismatch(DownloadError):
    code = "checksum_mismatch"


class InvalidWeights(DownloadError):
    """The file is not the model's weights: an HTML page, a truncated body, another model."""

    code = "invalid_weights"


class InvalidURL(DownloadError):
    code = "invalid_url"


class _Incomplete(Exception):
    """The body ended early; retry and resume."""


def bundled_model_names() -> list[str]:
    return [spec.name for spec in OFFICIAL_MODELS.values() if spec.bundled_stem]


def offline_hint() -> str:
    names = ", ".join(bundled_model_names())
    return f"These bundled models work offline with no download: {names}."


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def redact_url(url: str) -> str:
    """`url` as it may be printed: credentials in it (`https://user:token@mirror/...`) become `***`."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


def check_url(url: str) -> str:
    """Reject a URL httpx cannot fetch before any attempt: retrying it would never help."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidURL(
            f"invalid download URL {redact_url(url)!r}: it needs http:// or https:// and a host, "
            "e.g. https://mirror.example/releases/download"
        )
    return url


def _looks_like_html(path: Path) -> bool:
    # Mirrors and captive portals answer 200 with a login or error page instead of the file.
    with path.open("rb") as fh:
        head = fh.read(512).lstrip().lower()
    return head.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")) or b"<html" in head


def weights_problem(path: Path, spec: ModelSpec) -> str | None:
    """Why `path` is not usable as `spec`'s weights, or None when it loads as that model."""
    if path.stat().st_size == 0:
        return "the file is empty"
    if _looks_like_html(path):
        return "the mirror answered an HTML page, not weights"
    # Imported here: torch and spandrel are slow to import and only needed for this check.
    import spandrel

    from backend.models.loader import read_state_dict

    try:
        state = read_state_dict(path)
        descriptor = spandrel.ModelLoader().load_from_state_dict(state)
    except ModelLoadError as exc:
        return f"it does not load as weights (truncated or not a checkpoint): {exc.message}"
    except Exception as exc:  # noqa: BLE001 - spandrel raises several types for unknown layouts
        return f"it is not a supported model ({type(exc).__name__}: {exc})"
    arch = type(descriptor.model).__name__
    if arch != spec.arch or descriptor.scale != spec.scale:
        return f"it holds a {arch} x{descriptor.scale} model, expected {spec.arch} x{spec.scale}"
    return None


def existing_problem(path: Path, spec: ModelSpec) -> str | None:
    """Why an existing file cannot be trusted as `spec`: its checksum when known, else a load."""
    if spec.sha256:
        actual = sha256_file(path)
        return None if actual == spec.sha256 else f"its sha256 {actual} is not the expected {spec.sha256}"
    return weights_problem(path, spec)


@contextmanager
def target_lock(dest: Path) -> Iterator[None]:
    """Hold an exclusive lock on `<dest>.lock` so concurrent runs never share one `.part`.

    `filelock` locks with flock on Unix and msvcrt.locking on Windows. The empty lock file is left
    in place on release (filelock's design: deleting it would let a waiter lock an orphan).
    """
    lock_path = dest.with_name(dest.name + ".lock")
    lock = FileLock(lock_path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.warning("waiting for another download of %s to finish (lock %s)", dest.name, lock_path)
        lock.acquire()  # blocks until the other run releases it
    try:
        yield
    finally:
        lock.release()


def resolve_specs(names: Iterable[str]) -> list[ModelSpec]:
    """Specs for the named official models plus their denoise partners, without duplicates."""
    specs: dict[str, ModelSpec] = {}
    for name in names:
        validate_model_name(name)
        spec = OFFICIAL_MODELS.get(name)
        if spec is None:
            known = ", ".join(OFFICIAL_MODELS)
            raise ModelNotFound(f"unknown model {name!r}; official models: {known}")
        specs.setdefault(spec.name, spec)
        # realesr-general-x4v3 blends with its wdn twin, so it is useless without it.
        if spec.denoise_partner:
            specs.setdefault(spec.denoise_partner, OFFICIAL_MODELS[spec.denoise_partner])
    return list(specs.values())


def _parse_content_range(value: str | None) -> tuple[int, int | None] | None:
    """`bytes START-END/TOTAL` -> (START, TOTAL or None)."""
    if not value or not value.startswith("bytes "):
        return None
    span, _, total = value[6:].partition("/")
    start, _, _ = span.partition("-")
    try:
        return (int(start) if start != "*" else 0), (int(total) if total.strip() not in ("", "*") else None)
    except ValueError:
        return None


def _stream_once(client: httpx.Client, url: str, part: Path, *, label: str, show_progress: bool) -> None:
    """One attempt: fetch the rest of `url` into `part`. Raises httpx errors or _Incomplete."""
    offset = part.stat().st_size if part.exists() else 0
    # Identity encoding: Range offsets and Content-Length then count the bytes we store.
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    with client.stream("GET", url, headers=headers) as response:
        if response.status_code == 416 and offset:
            # `bytes */TOTAL` equal to what we hold: an earlier run finished but did not rename.
            parsed = _parse_content_range(response.headers.get("Content-Range"))
            if parsed is not None and parsed[1] == offset:
                return
            # Otherwise our partial file is no prefix the server recognises: start over.
            part.unlink(missing_ok=True)
            raise _Incomplete("server rejected the resume range; restarting")
        if response.status_code >= 400:
            response.raise_for_status()
        total: int | None
        if response.status_code == 206:
            parsed = _parse_content_range(response.headers.get("Content-Range"))
            if parsed is None or parsed[0] != offset:
                part.unlink(missing_ok=True)
                raise _Incomplete("server answered a different range; restarting")
            total = parsed[1]
            mode = "ab"
        else:
            # 200: the server ignored Range (or there was none), so the body is the whole file.
            if offset:
                log.info("server ignored the Range header; downloading %s from the start", label)
            offset = 0
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            mode = "wb"
        written = offset
        with (
            part.open(mode) as fh,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=label,
                disable=not show_progress,
                leave=True,
            ) as bar,
        ):
            # No chunk_size: a fixed size would buffer bytes that a dropped connection then loses.
            for chunk in response.iter_bytes():
                fh.write(chunk)
                written += len(chunk)
                bar.update(len(chunk))
        encoded = response.headers.get("Content-Encoding", "identity") != "identity"
        if total is not None and not encoded and written != total:
            raise _Incomplete(f"got {written} of {total} bytes")


def download_file(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    show_progress: bool = True,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    verify: Callable[[Path], str | None] | None = None,
) -> Path:
    """Download `url` to `dest` atomically, resuming `dest.part` if an earlier run left one.

    `verify(part)` returns why the finished file is unusable (or None); such a file is deleted.
    """
    check_url(url)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    shown = redact_url(url)  # errors and logs never show a mirror's credentials
    host = urlsplit(shown).netloc or shown
    own_client = client is None
    if client is None:
        client = httpx.Client(timeout=timeout, follow_redirects=True)  # GitHub redirects to its CDN
    try:
        failures = 0
        while True:
            size_before = part.stat().st_size if part.exists() else 0
            try:
                _stream_once(client, url, part, label=dest.name, show_progress=show_progress)
                break
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                # Permanent (e.g. a redirect to ftp://): retrying cannot fix the URL.
                raise InvalidURL(f"cannot download {shown}: {exc}") from exc
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # DNS failure, refused connection or no route: retrying a few times is cheap,
                # but in the end the user needs to hear "no network", not a traceback.
                failures += 1
                if failures > min(retries, CONNECT_RETRIES):
                    raise NetworkUnreachable(
                        f"cannot reach {host} to download {dest.name} ({type(exc).__name__}: {exc}). "
                        f"The network or the host is unreachable; check your connection or proxy "
                        f"(HTTPS_PROXY), or set DOWNLOAD_BASE_URL to a mirror, or fetch {shown} by hand "
                        f"into {dest.parent}. {offline_hint()}"
                    ) from exc
                reason = f"{type(exc).__name__}: {exc}"
            except httpx.HTTPStatusError as exc:
                status = exc.response.status_code
                if status < 500 and status not in (408, 429):
                    raise DownloadError(f"{shown}: HTTP {status}; the file does not exist there") from exc
                failures += 1
                if failures > retries:
                    raise DownloadError(f"{shown}: HTTP {status} after {failures} attempts") from exc
                reason = f"HTTP {status}"
            except (httpx.TransportError, _Incomplete) as exc:
                # Dropped connection or short body: keep the .part and resume from it.
                size_after = part.stat().st_size if part.exists() else 0
                failures = 0 if size_after > size_before else failures + 1  # progress resets the count
                if failures > retries:
                    raise DownloadError(f"{shown}: download kept failing ({exc}); rerun to resume") from exc
                reason = str(exc) or type(exc).__name__
            delay = backoff * (2 ** max(failures - 1, 0))
            log.warning("download of %s interrupted (%s); retrying in %.1fs", dest.name, reason, delay)
            sleep(delay)
    finally:
        if own_client:
            client.close()

    if sha256:
        actual = sha256_file(part)
        if actual.lower() != sha256.lower():
            part.unlink(missing_ok=True)
            raise ChecksumMismatch(
                f"{dest.name}: sha256 {actual} does not match the expected {sha256}; the file was deleted"
            )
    problem = verify(part) if verify is not None else None
    if problem is not None:
        part.unlink(missing_ok=True)
        raise InvalidWeights(f"{dest.name} from {shown}: {problem}; the file was deleted")
    os.replace(part, dest)
    return dest


def download_model(
    spec: ModelSpec,
    settings: Settings,
    *,
    force: bool = False,
    show_progress: bool = True,
    **kwargs: object,
) -> Path:
    """Download one official checkpoint into `settings.models_dir`; reuse a verified existing file."""
    url = check_url(spec.url(settings.download_base_url))
    dest = settings.models_dir / spec.file_name
    dest.parent.mkdir(parents=True, exist_ok=True)
    with target_lock(dest):
        # Checked under the lock: a run we waited for may just have put a verified file here.
        if dest.is_file() and not force:
            problem = existing_problem(dest, spec)
            if problem is None:
                log.info("%s already present at %s", spec.name, dest)
                return dest
            # Unusable anyway, and it would shadow a bundled model: gone even if the download fails.
            log.warning("%s at %s is unusable (%s); deleting it and downloading again", spec.name, dest, problem)
            dest.unlink(missing_ok=True)
        # With a known checksum the sha256 proves the file; loading it as well would only cost time.
        return download_file(
            url,
            dest,
            sha256=spec.sha256,
            show_progress=show_progress,
            verify=None if spec.sha256 else lambda path: weights_problem(path, spec),
            **kwargs,  # type: ignore[arg-type]
        )


def download_models(
    names: Iterable[str],
    settings: Settings,
    *,
    show_progress: bool = True,
    **kwargs: object,
) -> list[Path]:
    """Download the named official models (and denoise partners); returns the file paths."""
    return [download_model(spec, settings, show_progress=show_progress, **kwargs) for spec in resolve_specs(names)]
