"""Running download_models again replaces a bad file an older version left, in every mode.

`--model NAME` already did (test_cli_download_verify.py); the no-argument run (make the
default model ready) and `--all` used to call such a file "already downloaded" or skip it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from backend import download_models
from backend.models.registry import OFFICIAL_MODELS
from backend.settings import get_settings

if TYPE_CHECKING:
    from conftest import FileServer

ANIME = OFFICIAL_MODELS["realesr-animevideov3"]  # bundled, no registry checksum
X4PLUS = OFFICIAL_MODELS["RealESRGAN_x4plus"]  # bundled, with a registry checksum
URL_PATH = f"/{ANIME.release_tag}/{ANIME.file_name}"
TRUNCATED = b"PK\x03\x04" + b"\x00" * 60  # the start of a torch zip checkpoint, cut short


@pytest.fixture
def default_anime(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DEFAULT_MODEL", ANIME.name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_default_run_downloads_a_bad_default_file_again(
    default_anime: None,
    file_server: FileServer,
    tmp_path: Path,
    make_ckpt: Callable[[int], bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / ANIME.file_name).write_bytes(TRUNCATED)
    good = make_ckpt(4)
    file_server.add(URL_PATH, good)
    assert download_models.main(["--models-dir", str(tmp_path), "--base-url", file_server.url, "-q"]) == 0
    captured = capsys.readouterr()
    assert "already downloaded" not in captured.out
    assert f"{tmp_path / ANIME.file_name} is unusable" in captured.err
    assert "downloaded: " in captured.out
    assert (tmp_path / ANIME.file_name).read_bytes() == good


def test_default_run_offline_deletes_a_bad_file_and_uses_the_bundle(
    default_anime: None, closed_port_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ANIME.file_name).write_bytes(TRUNCATED)
    argv = ["--models-dir", str(tmp_path), "--base-url", closed_port_url, "-q"]
    assert download_models.main(argv) == 0
    captured = capsys.readouterr()
    assert "could not download" in captured.err
    assert "bundled" in captured.out and "No download needed" in captured.out
    assert not (tmp_path / ANIME.file_name).exists()  # no longer shadows the bundled model
    assert (tmp_path / "bundled" / f"{ANIME.bundled_stem}.safetensors").is_file()


def test_default_run_keeps_a_good_file(
    default_anime: None,
    closed_port_url: str,
    tmp_path: Path,
    make_ckpt: Callable[[int], bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = make_ckpt(5)
    (tmp_path / ANIME.file_name).write_bytes(good)
    assert download_models.main(["--models-dir", str(tmp_path), "--base-url", closed_port_url, "-q"]) == 0
    assert "already downloaded" in capsys.readouterr().out
    assert (tmp_path / ANIME.file_name).read_bytes() == good


def test_all_replaces_a_bad_file_of_a_bundled_model(
    file_server: FileServer, tmp_path: Path, make_ckpt: Callable[[int], bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ANIME.file_name).write_bytes(TRUNCATED)
    good = make_ckpt(6)
    file_server.add(URL_PATH, good)
    argv = ["--all", "--models-dir", str(tmp_path), "--base-url", file_server.url, "-q", "--retries", "0"]
    download_models.main(argv)  # 1: the models that are not bundled are missing on this server
    out = capsys.readouterr().out
    assert f"ok: {tmp_path / ANIME.file_name}" in out
    assert (tmp_path / ANIME.file_name).read_bytes() == good
    # Bundled models with no file here are still skipped, without a request.
    assert f"skipped: {X4PLUS.name} is bundled" in out
    assert not any(X4PLUS.file_name in path for path, _ in file_server.requests)
