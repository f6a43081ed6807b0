"""The downloader against a local HTTP server: checksum, resume, Range, retries, no network."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import torch

from backend.errors import ModelNotFound
from backend.models import download as dl
from backend.models.registry import OFFICIAL_MODELS
from backend.settings import Settings

if TYPE_CHECKING:
    from conftest import FileServer


def no_sleep(_: float) -> None:
    pass


@pytest.fixture
def checkpoint(make_ckpt: Callable[[int], bytes]) -> bytes:
    return make_ckpt(0)


def _fetch(server: FileServer, dest: Path, **kwargs: object) -> Path:
    kwargs.setdefault("sleep", no_sleep)
    kwargs.setdefault("show_progress", False)
    return dl.download_file(f"{server.url}/v1/model.pth", dest, **kwargs)  # type: ignore[arg-type]


def test_download_verifies_sha256_and_loads(file_server: FileServer, checkpoint: bytes, tmp_path: Path) -> None:
    digest = file_server.add("/v1/model.pth", checkpoint)
    path = _fetch(file_server, tmp_path / "model.pth", sha256=digest)
    assert path.read_bytes() == checkpoint
    assert not (tmp_path / "model.pth.part").exists()
    state = torch.load(path, weights_only=True)["params_ema"]
    assert "body.0.weight" in state


def test_checksum_mismatch_deletes_file(file_server: FileServer, checkpoint: bytes, tmp_path: Path) -> None:
    file_server.add("/v1/model.pth", checkpoint)
    with pytest.raises(dl.ChecksumMismatch, match="sha256"):
        _fetch(file_server, tmp_path / "model.pth", sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_dropped_connection_resumes_with_range(file_server: FileServer, checkpoint: bytes, tmp_path: Path) -> None:
    digest = file_server.add("/v1/model.pth", checkpoint)
    file_server.drop_first = 1
    path = _fetch(file_server, tmp_path / "model.pth", sha256=digest)
    assert path.read_bytes() == checkpoint
    ranges = [rng for _, rng in file_server.requests]
    assert ranges[0] is None
    assert ranges[1] == f"bytes={len(checkpoint) // 2}-"  # resumed, not restarted


def test_resume_from_existing_part_file(file_server: FileServer, checkpoint: bytes, tmp_path: Path) -> None:
    digest = file_server.add("/v1/model.pth", checkpoint)
    (tmp_path / "model.pth.part").write_bytes(checkpoint[:1000])  # left by an interrupted run
    _fetch(file_server, tmp_path / "model.pth", sha256=digest)
    assert (tmp_path / "model.pth").read_bytes() == checkpoint
    assert file_server.requests == [("/v1/model.pth", "bytes=1000-")]


def test_complete_part_file_is_not_downloaded_again(file_server: FileServer, checkpoint: bytes, tmp_path: Path) -> None:
    digest = file_server.add("/v1/model.pth", checkpoint)
    (tmp_path / "model.pth.part").write_bytes(checkpoint)  # finished, but never renamed
    _fetch(file_server, tmp_path / "model.pth", sha256=digest)
    assert (tmp_path / "model.pth").read_bytes() == checkpoint
    assert len(file_server.requests) == 1


def test_server_ignoring_range_restarts_cleanly(file_server: FileServer, checkpoint: bytes, tmp_path: Path) -> None:
    digest = file_server.add("/v1/model.pth", checkpoint)
    file_server.support_range = False
    file_server.drop_first = 1
    (tmp_path / "model.pth.part").write_bytes(b"stale bytes from some other run")
    _fetch(file_server, tmp_path / "model.pth", sha256=digest)
    assert (tmp_path / "model.pth").read_bytes() == checkpoint  # no stale prefix kept


def test_gives_up_after_retries(file_server: FileServer, checkpoint: bytes, tmp_path: Path) -> None:
    file_server.add("/v1/model.pth", checkpoint)
    file_server.drop_first = 100  # each attempt gets half of what is left: progress, then none
    file_server.support_range = False  # so no attempt makes progress beyond the first half
    delays: list[float] = []
    with pytest.raises(dl.DownloadError, match="rerun to resume"):
        _fetch(file_server, tmp_path / "model.pth", retries=2, sleep=delays.append)
    assert delays == [1.0, 1.0, 2.0]  # backoff doubles once progress stops
    assert not (tmp_path / "model.pth").exists()


def test_http_404_is_not_retried(file_server: FileServer, tmp_path: Path) -> None:
    with pytest.raises(dl.DownloadError, match="HTTP 404"):
        _fetch(file_server, tmp_path / "model.pth")
    assert len(file_server.requests) == 1


def test_unreachable_network_says_so_and_points_to_bundled(closed_port_url: str, tmp_path: Path) -> None:
    with pytest.raises(dl.NetworkUnreachable) as info:
        dl.download_file(
            f"{closed_port_url}/v0.1.0/x.pth", tmp_path / "x.pth", retries=1, sleep=no_sleep, show_progress=False
        )
    message = info.value.message
    assert "unreachable" in message
    for name in ("RealESRGAN_x4plus", "RealESRGAN_x4plus_anime_6B", "realesr-animevideov3"):
        assert name in message


def test_general_x4v3_brings_its_denoise_partner(
    file_server: FileServer, tmp_path: Path, make_ckpt: Callable[[int], bytes]
) -> None:
    main, wdn = OFFICIAL_MODELS["realesr-general-x4v3"], OFFICIAL_MODELS["realesr-general-wdn-x4v3"]
    file_server.add(f"/{main.release_tag}/{main.file_name}", make_ckpt(1))
    file_server.add(f"/{wdn.release_tag}/{wdn.file_name}", make_ckpt(2))
    settings = Settings(models_dir=tmp_path, download_base_url=file_server.url)
    paths = dl.download_models(["realesr-general-x4v3"], settings, show_progress=False)
    assert [p.name for p in paths] == [main.file_name, wdn.file_name]
    # A second run finds both files and fetches nothing.
    count = len(file_server.requests)
    dl.download_models(["realesr-general-x4v3"], settings, show_progress=False)
    assert len(file_server.requests) == count


def test_unknown_model_name() -> None:
    with pytest.raises(ModelNotFound, match="unknown model"):
        dl.resolve_specs(["no-such-model"])
