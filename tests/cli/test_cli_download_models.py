"""`download_models.py`: the listing, downloads through main(), offline errors, script mode."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from backend import download_models
from backend.models.registry import OFFICIAL_MODELS
from backend.settings import BACKEND_DIR
from tests.cli.test_cli_download_verify import rrdb_checkpoint

if TYPE_CHECKING:
    from conftest import FileServer


def test_list_shows_every_model_and_its_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_ckpt: Callable[[int], bytes]
) -> None:
    # As if downloaded: a real RRDBNet x2 checkpoint, since --list now checks that the file loads.
    (tmp_path / "RealESRGAN_x2plus.pth").write_bytes(rrdb_checkpoint(2))
    (tmp_path / "my-custom-model.pth").write_bytes(make_ckpt(3))
    assert download_models.main(["--list", "--models-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert lines["NAME"][:5] == ["NAME", "SCALE", "ARCH", "STATUS", "SIZE"]
    for name in OFFICIAL_MODELS:
        assert name in lines
    assert lines["RealESRGAN_x4plus"][1:4] == ["x4", "RRDBNet", "bundled"]
    assert lines["realesr-animevideov3"][1:4] == ["x4", "SRVGGNetCompact", "bundled"]
    size = download_models._human_size((tmp_path / "RealESRGAN_x2plus.pth").stat().st_size).split()
    assert lines["RealESRGAN_x2plus"][1:6] == ["x2", "RRDBNet", "downloaded", *size]
    assert lines["realesr-general-x4v3"][3:5] == ["missing", "-"]
    assert lines["my-custom-model"][3] == "custom"


def test_model_option_downloads_into_models_dir(
    file_server: FileServer, tmp_path: Path, make_ckpt: Callable[[int], bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = OFFICIAL_MODELS["realesr-animevideov3"]
    data = make_ckpt(4)
    file_server.add(f"/{spec.release_tag}/{spec.file_name}", data)
    argv = ["--model", spec.name, "--models-dir", str(tmp_path), "--base-url", file_server.url, "-q"]
    assert download_models.main(argv) == 0
    assert (tmp_path / spec.file_name).read_bytes() == data
    assert f"ok: {tmp_path / spec.file_name}" in capsys.readouterr().out


def test_unknown_model_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert download_models.main(["--model", "nope", "--models-dir", str(tmp_path)]) == 1
    assert "unknown model 'nope'" in capsys.readouterr().err


def test_unreachable_network_exit_code_and_message(
    closed_port_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--model", "RealESRGAN_x2plus", "--models-dir", str(tmp_path), "--base-url", closed_port_url]
    assert download_models.main([*argv, "--retries", "0", "-q"]) == 1
    err = capsys.readouterr().err
    assert "unreachable" in err
    assert "work offline" in err and "RealESRGAN_x4plus" in err
    # Nothing but filelock's empty lock file, which stays on Unix by design.
    assert [p.name for p in tmp_path.iterdir() if p.suffix != ".lock"] == []


def test_script_mode_prepares_bundled_default_without_network(tmp_path: Path, closed_port_url: str) -> None:
    """`cd backend && python download_models.py`, as the guide says, with no network at all."""
    env = {
        **os.environ,
        "MODELS_DIR": str(tmp_path),
        "DEFAULT_MODEL": "realesr-animevideov3",  # bundled and small, so the conversion is quick
        "DOWNLOAD_BASE_URL": closed_port_url,  # any download attempt would fail
    }
    result = subprocess.run(
        [sys.executable, "download_models.py"],
        cwd=BACKEND_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "No download needed" in result.stdout
    spec = OFFICIAL_MODELS["realesr-animevideov3"]
    assert (tmp_path / "bundled" / f"{spec.bundled_stem}.safetensors").is_file()


def test_all_continues_past_failures_and_skips_bundled(
    file_server: FileServer, tmp_path: Path, make_ckpt: Callable[[int], bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    general, wdn = OFFICIAL_MODELS["realesr-general-x4v3"], OFFICIAL_MODELS["realesr-general-wdn-x4v3"]
    file_server.add(f"/{general.release_tag}/{general.file_name}", make_ckpt(1))
    file_server.add(f"/{wdn.release_tag}/{wdn.file_name}", make_ckpt(2))
    # RealESRGAN_x2plus is missing on this mirror (404) and comes before the other two.
    argv = ["--all", "--models-dir", str(tmp_path), "--base-url", file_server.url, "-q", "--retries", "0"]
    assert download_models.main(argv) == 1
    captured = capsys.readouterr()
    assert "error: RealESRGAN_x2plus:" in captured.err and "HTTP 404" in captured.err
    assert f"ok: {tmp_path / general.file_name}" in captured.out
    assert f"ok: {tmp_path / wdn.file_name}" in captured.out
    bundled = [spec for spec in OFFICIAL_MODELS.values() if spec.bundled_stem]
    for spec in bundled:
        assert f"skipped: {spec.name} is bundled" in captured.out
    requested = " ".join(path for path, _ in file_server.requests)
    assert not any(spec.file_name in requested for spec in bundled)  # nothing bundled was fetched
