"""Weight files an operator drops into MODELS_DIR: pickles must not run, errors must not leak paths."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import pytest
import torch

from backend.errors import ModelLoadError
from backend.models import loader
from tests.api.conftest import make_tiny_model, png_bytes, start_server
from tests.api.conftest import pattern as image_pattern

GOOD = png_bytes(image_pattern(1))


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.marker}",))


def _evil_files(models_dir: Path, marker: Path) -> list[str]:
    torch.save({"params": _RunsCode(marker)}, models_dir / "evil_zip.pth")  # zip format, pickle inside
    with (models_dir / "evil_legacy.pth").open("wb") as fh:  # the pre-1.6 format: a bare pickle
        pickle.dump({"params": _RunsCode(marker)}, fh, protocol=2)
    return ["evil_zip", "evil_legacy"]


def test_a_malicious_pickle_in_models_dir_does_not_run_and_is_described_briefly(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    make_tiny_model(models_dir / "tiny.safetensors")
    marker = tmp_path / "pwned"
    names = _evil_files(models_dir, marker)
    server = start_server(tmp_path, models_dir)
    try:
        with server.client() as http:
            for name in names:
                for response in (
                    http.post("/api/upscale", params={"model": name}, files={"file": ("a.png", GOOD, "image/png")}),
                    http.get(f"/api/models/{name}/onnx"),
                ):
                    assert response.status_code == 500, response.text
                    body = response.json()
                    assert body["code"] == "model_load_failed"
                    # Before: torch's dozen lines, telling the client to retry with weights_only=False.
                    assert "weights_only" not in body["detail"] and "\n" not in body["detail"]
                    assert f"{name}.pth" in body["detail"] and str(tmp_path) not in body["detail"]
            assert http.post("/api/upscale", files={"file": ("a.png", GOOD, "image/png")}).status_code == 200
    finally:
        server.stop()
    assert not marker.exists(), "the pickle ran code"
    assert "evil_zip" in server.log()  # the whole refusal goes to the operator's log


def test_an_unreadable_weights_file_is_named_without_its_directory(tmp_path: Path) -> None:
    # Before: "cannot read weights x.pth: [Errno 21] Is a directory: '/abs/path/x.pth'" (or
    # Permission denied with the path), and model_load_failed messages reach the client.
    for name in ("x.pth", "y.safetensors"):
        target = tmp_path / name
        target.mkdir()
        with pytest.raises(ModelLoadError) as caught:
            loader.read_state_dict(target)
        assert name in caught.value.message and str(tmp_path) not in caught.value.message


def test_torch_before_2_6_reads_only_pth_files_the_registry_vouches_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # torch < 2.6 runs code from a crafted file even with weights_only=True (CVE-2025-32434),
    # and requirements.txt allows torch>=2.1.
    monkeypatch.setattr(loader, "TORCH_LOAD_IS_SAFE", False)
    state = {"w": torch.ones(2)}
    path = tmp_path / "custom.pth"
    torch.save(state, path)
    with pytest.raises(ModelLoadError, match="CVE-2025-32434"):
        loader.read_state_dict(path)
    with pytest.raises(ModelLoadError, match="CVE-2025-32434"):
        loader.read_state_dict(path, sha256="0" * 64)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert torch.equal(loader.read_state_dict(path, sha256=digest)["w"], state["w"])
    safetensors = tmp_path / "custom.safetensors"
    make_tiny_model(safetensors)
    assert loader.read_state_dict(safetensors)  # safetensors holds no code: always read


def test_torch_version_parsing() -> None:
    assert loader._torch_version("2.5.1+cu124") == (2, 5)
    assert loader._torch_version("2.14.1+cu130") == (2, 14)
    assert loader._torch_version("2.6.0a0+git123") == (2, 6)
    assert loader._torch_version("garbage") == (0, 0)
    expected = loader._torch_version(torch.__version__) >= (2, 6)
    assert loader.TORCH_LOAD_IS_SAFE is expected


def test_a_weights_file_named_with_a_newline_is_not_listed(tmp_path: Path) -> None:
    from backend.models.registry import list_models

    make_tiny_model(tmp_path / "ok.safetensors")
    make_tiny_model(tmp_path / "bad\n.safetensors")
    names = [entry.name for entry in list_models(tmp_path) if entry.source == "custom"]
    assert names == ["ok"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"<html><body>404 Not Found</body></html>", "not a PyTorch weights file"),
        (bytes(range(7, 256)) * 16, "not a PyTorch weights file"),
    ],
    ids=["empty", "html", "random"],
)
def test_a_file_that_is_no_weights_at_all_is_not_called_a_code_pickle(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    # Before: an HTML error page or random bytes were "code or objects other than tensors
    # (pickled, or a TorchScript archive)", and an empty file was just "EOFError".
    path = tmp_path / "custom.pth"
    path.write_bytes(content)
    with pytest.raises(ModelLoadError) as caught:
        loader.read_state_dict(path)
    assert reason in caught.value.message and "pickled" not in caught.value.message


def test_a_weights_archive_cut_short_says_so_briefly(tmp_path: Path) -> None:
    # Before: torch's miniz text ("This is an internal miniz error. If you are seeing this...").
    whole = tmp_path / "whole.pth"
    torch.save({"w": torch.ones(64)}, whole)
    path = tmp_path / "custom.pth"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ModelLoadError) as caught:
        loader.read_state_dict(path)
    assert "damaged or cut short" in caught.value.message and "miniz" not in caught.value.message
