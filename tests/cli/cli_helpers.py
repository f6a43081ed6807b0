"""What the CLI tests share: the model they run, a tiny real image, the CLI called in-process, and the
names a run left in a folder."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from skimage import data as skdata

from backend import cli

MODEL = "realesr-animevideov3"  # bundled, small and fast on the CPU


def save_tiny(path: Path) -> Path:
    """A 16x16 crop of a real photo: cheap to upscale on two CPU cores."""
    Image.fromarray(skdata.astronaut()[80:96, 200:216]).save(path, format="PNG")
    return path


def run_cli(*args: str) -> int:
    return cli.main([*args, "--model", MODEL, "--no-progress"])


def files_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}
