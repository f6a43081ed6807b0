"""download_models: names that could become paths, and mirror credentials in messages."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from backend import download_models
from backend.models.download import redact_url

if TYPE_CHECKING:
    from conftest import FileServer

SECRET = "s3cr3t-t0ken"


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "x\n", "RealESRGAN_x4plus/../x", "a\x00b"])
def test_model_names_never_become_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    models = tmp_path / "models"
    assert download_models.main(["--model", name, "--models-dir", str(models), "-q"]) == 1
    assert "error:" in capsys.readouterr().err
    assert not any(tmp_path.rglob("*passwd*")) and not (tmp_path / "etc").exists()


def test_mirror_credentials_are_not_printed_when_unreachable(
    closed_port_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: "cannot reach user:s3cr3t-t0ken@127.0.0.1:PORT ... or fetch http://user:s3cr3t-t0ken@..."
    url = closed_port_url.replace("http://", f"http://user:{SECRET}@")
    argv = ["--model", "RealESRGAN_x2plus", "--models-dir", str(tmp_path), "--base-url", url, "--retries", "0", "-q"]
    assert download_models.main(argv) == 1
    err = capsys.readouterr().err
    assert "cannot reach" in err and SECRET not in err


def test_mirror_credentials_are_not_printed_on_http_errors(
    file_server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = file_server.url.replace("http://", f"http://user:{SECRET}@")  # nothing there: 404
    argv = ["--model", "RealESRGAN_x2plus", "--models-dir", str(tmp_path), "--base-url", url, "-q"]
    assert download_models.main(argv) == 1
    err = capsys.readouterr().err
    assert "HTTP 404" in err and SECRET not in err


def test_a_base_url_that_is_not_http_is_refused_without_echoing_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for url in (f"file://user:{SECRET}@/etc", f"ftp://user:{SECRET}@mirror/x", "/etc/passwd"):
        argv = ["--model", "RealESRGAN_x2plus", "--models-dir", str(tmp_path), "--base-url", url, "-q"]
        assert download_models.main(argv) == 1
        err = capsys.readouterr().err
        assert "invalid download URL" in err and SECRET not in err


def test_redact_url() -> None:
    assert redact_url("https://mirror.example/x") == "https://mirror.example/x"
    assert redact_url(f"https://u:{SECRET}@mirror.example:8443/x?y=1") == "https://***@mirror.example:8443/x?y=1"
    assert redact_url(f"https://{SECRET}@mirror.example/x") == "https://***@mirror.example/x"
