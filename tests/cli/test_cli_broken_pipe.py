"""`upscale` whose messages go into a pipe that closes early, as in `upscale dir/ 2>&1 | head -1`.

The messages (`ok:`, progress bars) go to stderr, or to stdout when stderr is closed (`2>&-`); the
result paths go to stdout. When the reader of either leaves, the CLI should stop as `find | head`
does: exit 141 (128 + SIGPIPE), no traceback, no temp file, every result it did write complete. It
used to count the image whose `ok:` line failed as a failure, then die of the BrokenPipeError raised
by the `failed:` line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from skimage import data as skdata

from backend.cli import EXIT_BROKEN_PIPE
from backend.settings import REPO_DIR
from tests.cli.cli_helpers import MODEL, files_in, save_tiny

COUNT = 30  # enough that the run cannot finish between its first line and the pipe closing


def _env(models_dir: Path) -> dict[str, str]:
    return {**os.environ, "MODELS_DIR": str(models_dir), "DEVICE": "cpu", "WARMUP": "false"}


def _close_stderr() -> None:
    os.close(2)  # `2>&-`: Python starts with sys.stderr None, and the messages go to stdout


@pytest.mark.parametrize(
    ("stderr", "preexec", "progress"),
    [
        (subprocess.STDOUT, None, False),
        (subprocess.STDOUT, None, True),  # the pipe may break inside a progress bar, mid-upscale
        (None, _close_stderr, False),
    ],
    ids=["2>&1", "2>&1-with-progress", "2>&-"],
)
def test_a_closed_pipe_stops_the_batch_with_141_and_only_whole_results(
    tmp_path: Path,
    shared_models_dir: Path,
    stderr: int | None,
    preexec: Callable[[], None] | None,
    progress: bool,
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(COUNT):
        save_tiny(folder / f"m{i:02}.png")
    cmd = [sys.executable, "-m", "backend", str(folder), "--model", MODEL]
    cmd.append("--progress" if progress else "--no-progress")  # a pipe gets no bars unless asked
    proc = subprocess.Popen(
        cmd, cwd=REPO_DIR, env=_env(shared_models_dir), stdout=subprocess.PIPE, stderr=stderr, preexec_fn=preexec
    )
    assert proc.stdout is not None
    # `| head -1`: read the first line (or the first chunk of a progress bar's \r-updates), then leave.
    first = os.read(proc.stdout.fileno(), 4096) if progress else proc.stdout.readline()
    assert first, "the CLI said nothing"
    if not progress:
        assert first.startswith(b"ok: "), first
    proc.stdout.close()
    # Its stderr is the closed pipe, so the exit status is all that can say "no traceback":
    # an uncaught exception exits 1, a failed flush at exit 120.
    assert proc.wait(timeout=120) == EXIT_BROKEN_PIPE
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "a temp file was left behind"
    results = sorted(p for p in folder.iterdir() if p.name.endswith("_x4.png"))
    assert len(results) < COUNT, "the run did not stop"
    assert files_in(folder) == {f"m{i:02}.png" for i in range(COUNT)} | {p.name for p in results}
    for path in results:
        with Image.open(path) as image:
            image.load()  # complete, not truncated
            assert image.size == (64, 64)


def test_stdout_read_by_a_pipe_gets_each_result_as_it_is_written(tmp_path: Path, shared_models_dir: Path) -> None:
    """`upscale dir/ | xargs ...`: each path arrives when its image is written, not when the run ends."""
    save_tiny(tmp_path / "a.png")
    Image.fromarray(skdata.astronaut()).save(tmp_path / "b.png")  # 512x512: seconds of work after a
    cmd = [sys.executable, "-m", "backend", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--model", MODEL]
    proc = subprocess.Popen(
        [*cmd, "--no-progress"],
        cwd=REPO_DIR,
        env=_env(shared_models_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == f"{tmp_path / 'a_x4.png'}\n"
    assert not (tmp_path / "b_x4.png").exists()  # the line came before the run's end
    rest, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert rest == f"{tmp_path / 'b_x4.png'}\n"
    assert "2 upscaled, 0 skipped, 0 failed" in err and "Traceback" not in err


def test_stdout_closed_early_stops_the_batch_as_find_does(tmp_path: Path, shared_models_dir: Path) -> None:
    """`upscale dir/ | head -1`: the reader of the result paths left, so stop with 141 (as `find | head`),
    leaving only whole results, and say nothing on stderr after the results written."""
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(COUNT):
        save_tiny(folder / f"m{i:02}.png")
    cmd = [sys.executable, "-m", "backend", str(folder), "--model", MODEL, "--no-progress"]
    proc = subprocess.Popen(
        cmd, cwd=REPO_DIR, env=_env(shared_models_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == f"{folder / 'm00_x4.png'}\n"
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_BROKEN_PIPE, err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "a temp file was left behind"
    results = sorted(p for p in folder.iterdir() if p.name.endswith("_x4.png"))
    assert 1 <= len(results) < COUNT
    for path in results:
        with Image.open(path) as image:
            image.load()
            assert image.size == (64, 64)


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_help_into_a_closed_pipe_says_nothing_on_stderr(option: str) -> None:
    """`upscale --help | true`: whether the write or the exit meets the closed pipe, no "Exception ignored"."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend", option],
        cwd=REPO_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # before the child, still starting Python, can write anything
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, EXIT_BROKEN_PIPE)
    assert err == ""


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_a_stop_after_the_reader_left_still_exits_as_a_stop(
    tmp_path: Path, shared_models_dir: Path, stop: signal.Signals, code: int
) -> None:
    """`upscale a b 2>&1 | head -1`, then Ctrl-C while b is upscaled: 130, as the user asked, not 141.

    Ctrl-C reaches the whole pipeline; head is gone, so the "interrupted" line meets the closed pipe.
    """
    save_tiny(tmp_path / "a.png")
    Image.fromarray(skdata.astronaut()).save(tmp_path / "b.png")  # 512x512: seconds of silent work
    cmd = [sys.executable, "-m", "backend", str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    proc = subprocess.Popen(
        [*cmd, "--model", MODEL, "--no-progress"],
        cwd=REPO_DIR,
        env=_env(shared_models_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith(b"ok: ")
    proc.stdout.close()
    proc.send_signal(stop)
    assert proc.wait(timeout=120) == code
    assert files_in(tmp_path) == {"a.png", "b.png", "a_x4.png"}  # no temp file, no half b_x4.png
