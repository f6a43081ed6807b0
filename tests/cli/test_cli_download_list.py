"""`download_models.py --list` checks what is on disk instead of trusting that a file exists.

A truncated or wrong file under an official name used to show as "downloaded" while the server
fell back to the bundled weights (or failed) at load time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from backend import download_models
from backend.models import download as dl
from backend.models.registry import OFFICIAL_MODELS
from backend.settings import BACKEND_DIR

ANIME = OFFICIAL_MODELS["realesr-animevideov3"]  # no registry checksum: checked by loading it
X4PLUS = OFFICIAL_MODELS["RealESRGAN_x4plus"]  # has a registry checksum


def _list(models_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, list[str]], str]:
    code = download_models.main(["--list", "--models-dir", str(models_dir)])
    captured = capsys.readouterr()
    rows = {line.split()[0]: line.split() for line in captured.out.splitlines() if line.strip()}
    return code, rows, captured.err


def test_truncated_file_is_corrupt_not_downloaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_ckpt: Callable[[int], bytes]
) -> None:
    whole = make_ckpt(1)
    (tmp_path / ANIME.file_name).write_bytes(whole[: len(whole) // 2])  # a download cut short
    code, rows, err = _list(tmp_path, capsys)
    assert rows[ANIME.name][3] == "corrupt"
    assert f"error: {ANIME.name}: {tmp_path / ANIME.file_name} is corrupt (" in err
    assert f"download_models.py --model {ANIME.name}" in err  # how to fix it
    assert code == 1  # like a failed download: a script or health check notices


def test_good_file_is_downloaded_and_exit_code_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_ckpt: Callable[[int], bytes]
) -> None:
    (tmp_path / ANIME.file_name).write_bytes(make_ckpt(2))
    code, rows, err = _list(tmp_path, capsys)
    assert rows[ANIME.name][3] == "downloaded"
    assert (code, err) == (0, "")


def test_wrong_checksum_is_corrupt_without_loading_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / X4PLUS.file_name).write_bytes(b"x" * 2048)

    def no_load(path: Path, spec: object) -> str | None:
        raise AssertionError("the checksum decides; the file must not be loaded")

    monkeypatch.setattr(dl, "weights_problem", no_load)
    code, rows, err = _list(tmp_path, capsys)
    assert rows[X4PLUS.name][3:6] == ["corrupt", "2.0", "KiB"]
    assert "sha256" in err and f"--model {X4PLUS.name}" in err
    assert code == 1


def test_matching_checksum_is_downloaded_without_loading_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"the registry's checksum decides, not the content"
    (tmp_path / X4PLUS.file_name).write_bytes(data)
    spec = dataclasses.replace(X4PLUS, sha256=hashlib.sha256(data).hexdigest())
    monkeypatch.setitem(OFFICIAL_MODELS, X4PLUS.name, spec)
    monkeypatch.setattr(dl, "weights_problem", lambda path, spec: pytest.fail("loaded despite a checksum"))
    code, rows, _ = _list(tmp_path, capsys)
    assert (code, rows[X4PLUS.name][3]) == (0, "downloaded")


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty"), (b"<!DOCTYPE html><html>login</html>", "HTML"), (b"\x00" * 4096, "does not load")],
)
def test_not_a_model_is_corrupt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, reason: str
) -> None:
    (tmp_path / ANIME.file_name).write_bytes(content)
    code, rows, err = _list(tmp_path, capsys)
    assert rows[ANIME.name][3] == "corrupt"
    assert reason in err
    assert len(err.strip().splitlines()) == 1  # torch's multi-line errors are cut to one line
    assert code == 1


def test_another_model_under_the_name_is_corrupt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_ckpt: Callable[[int], bytes]
) -> None:
    # A Compact x4 checkpoint where the RRDBNet x2 model belongs.
    x2 = OFFICIAL_MODELS["RealESRGAN_x2plus"]
    (tmp_path / x2.file_name).write_bytes(make_ckpt(3))
    code, rows, err = _list(tmp_path, capsys)
    assert rows[x2.name][3] == "corrupt"
    assert "expected RRDBNet x2" in err
    assert code == 1


def test_unreadable_file_is_reported_and_the_listing_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / X4PLUS.file_name).write_bytes(b"x")

    def denied(path: Path) -> str:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(dl, "sha256_file", denied)
    code, rows, err = _list(tmp_path, capsys)
    assert rows[X4PLUS.name][3] == "unreadable"
    assert "Permission denied" in err
    assert ANIME.name in rows  # every other model is still listed
    assert code == 1


def test_script_list_reports_corrupt_file(tmp_path: Path, make_ckpt: Callable[[int], bytes]) -> None:
    """`python backend/download_models.py --list` as the README says, in a fresh process."""
    whole = make_ckpt(4)
    (tmp_path / ANIME.file_name).write_bytes(whole[: len(whole) // 3])
    env = {**os.environ, "MODELS_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(BACKEND_DIR / "download_models.py"), "--list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    status = next(line.split()[3] for line in result.stdout.splitlines() if line.startswith(ANIME.name + " "))
    assert status == "corrupt"
    assert "Traceback" not in result.stderr
    assert f"--model {ANIME.name}" in result.stderr
