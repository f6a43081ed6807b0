"""Progress bars on a terminal only: `upscale photo.png 2> log.txt` (or under systemd, cron, a CI
job) used to fill the log with lines of carriage-return updates."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from backend.settings import REPO_DIR
from tests.cli.cli_helpers import MODEL, save_tiny


def _run(image: Path, models_dir: Path, flags: list[str], terminal: bool) -> bytes:
    """The CLI's stderr, from a pipe or from a pseudo-terminal."""
    env = {**os.environ, "MODELS_DIR": str(models_dir), "DEVICE": "cpu", "WARMUP": "false"}
    cmd = [
        sys.executable,
        "-m",
        "backend",
        str(image),
        "--model",
        MODEL,
        "-o",
        str(image.with_suffix(".out.png")),
        *flags,
    ]
    if not terminal:
        done = subprocess.run(cmd, cwd=REPO_DIR, env=env, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stderr
    leader, follower = pty.openpty()
    # A pseudo-terminal starts 0 columns wide, where tqdm draws nothing: size it as a terminal.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(cmd, cwd=REPO_DIR, env=env, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the CLI closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=300) == 0, b"".join(chunks)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("flags", "terminal", "bars"),
    [
        ([], False, False),  # a log file or a pipe: the ok: line only
        ([], True, True),  # a terminal: bars
        (["--progress"], False, True),
        (["--no-progress"], True, False),
    ],
    ids=["pipe", "terminal", "pipe --progress", "terminal --no-progress"],
)
def test_progress_bars_are_drawn_on_a_terminal_or_when_asked(
    tmp_path: Path, shared_models_dir: Path, flags: list[str], terminal: bool, bars: bool
) -> None:
    image = tmp_path / "photo.png"
    save_tiny(image)
    stderr = _run(image, shared_models_dir, flags, terminal)
    assert b"ok: " in stderr
    assert (b"tile" in stderr) == bars, stderr  # tqdm's unit: "1/1 [00:00<00:00, 3.2tile/s]"
