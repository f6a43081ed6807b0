"""A bad downloaded file must not shadow the bundled model of the same name.

Files left by an older downloader that did not verify (cut short, another model, garbage)
sit where the registry looks first. The service then serves the bundled weights, warns and
names the file; a model with no bundled weights still fails with an error naming the file.
Correctness is checked against the real bundled weights.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from spandrel.architectures.Compact import Compact
from spandrel.architectures.ESRGAN.__arch.RRDB import RRDBNet

from backend.errors import ModelLoadError
from backend.models import loader
from backend.models.bundled import load_bundled
from backend.models.manager import ModelManager
from backend.models.registry import OFFICIAL_MODELS, list_models
from backend.settings import Settings

FAST = "realesr-animevideov3"  # bundled, small
SPEC = OFFICIAL_MODELS[FAST]
NOT_BUNDLED = OFFICIAL_MODELS["realesr-general-x4v3"]


def _checkpoint(state: dict[str, torch.Tensor]) -> bytes:
    buffer = io.BytesIO()
    torch.save({"params_ema": state}, buffer)
    return buffer.getvalue()


def _real_weights(models_dir: Path) -> dict[str, torch.Tensor]:
    assert SPEC.bundled_stem is not None
    return load_bundled(SPEC.bundled_stem, models_dir / "bundled")


def _truncated(models_dir: Path) -> bytes:
    data = _checkpoint(_real_weights(models_dir))
    return data[: len(data) // 2]


def _wrong_architecture(_: Path) -> bytes:
    # An RRDBNet x4: the right scale, so only an architecture check tells it apart.
    torch.manual_seed(0)
    return _checkpoint(RRDBNet(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=4).state_dict())


def _wrong_scale(_: Path) -> bytes:
    torch.manual_seed(0)
    return _checkpoint(Compact(num_feat=8, num_conv=2, upscale=2).state_dict())


def _html_page(_: Path) -> bytes:
    return b"<html><body>Sign in to continue</body></html>\n"


BAD_FILES: dict[str, Callable[[Path], bytes]] = {
    "truncated": _truncated,
    "wrong-architecture": _wrong_architecture,
    "wrong-scale": _wrong_scale,
    "html-page": _html_page,
}


@pytest.fixture
def bundled_output(manager: ModelManager, photo: np.ndarray) -> np.ndarray:
    """The bundled model's output (the session manager has no downloaded files)."""
    assert {e.name: e.source for e in manager.list_models()}[FAST] == "bundled"
    return manager.get(FAST).upscale(photo)


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_downloaded_file_falls_back_to_the_bundled_weights(
    kind: str,
    tmp_path: Path,
    photo: np.ndarray,
    bundled_output: np.ndarray,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad = tmp_path / SPEC.file_name
    data = BAD_FILES[kind](tmp_path)
    bad.write_bytes(data)
    assert {e.name: e.source for e in list_models(tmp_path)}[FAST] == "downloaded"  # it shadows the bundle
    manager = ModelManager(Settings(_env_file=None, models_dir=tmp_path, device="cpu"))

    with caplog.at_level(logging.WARNING, logger="backend.models.loader"):
        upscaler = manager.get(FAST)
        assert manager.get(FAST) is upscaler  # loaded once: one warning, not one per request
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(bad) in warnings[0] and "bundled weights" in warnings[0]
    assert f"download_models.py --model {FAST}" in warnings[0]

    # The real bundled network, not the bad file's.
    np.testing.assert_array_equal(upscaler.upscale(photo), bundled_output)
    assert upscaler.scale == SPEC.scale and type(upscaler.descriptor.model).__name__ == SPEC.arch
    # Listed as what serves it; the file itself is left for download_models to replace.
    entry = next(e for e in manager.list_models() if e.name == FAST)
    assert (entry.source, entry.path) == ("bundled", None)
    assert bad.read_bytes() == data


def test_a_good_downloaded_file_is_used_not_the_bundle(
    tmp_path: Path, photo: np.ndarray, bundled_output: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    state = _real_weights(tmp_path)
    last = max((k for k in state if k.endswith(".bias")), key=lambda k: int(k.split(".")[1]))
    state[last] = state[last] + 0.05  # still the model, visibly brighter than the bundled one
    (tmp_path / SPEC.file_name).write_bytes(_checkpoint(state))
    manager = ModelManager(Settings(_env_file=None, models_dir=tmp_path, device="cpu"))
    with caplog.at_level(logging.WARNING, logger="backend.models.loader"):
        out = manager.get(FAST).upscale(photo)
    assert not caplog.records
    assert out.astype(np.float64).mean() > bundled_output.astype(np.float64).mean() + 5
    assert next(e for e in manager.list_models() if e.name == FAST).source == "downloaded"


def test_a_bad_file_without_bundled_weights_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / NOT_BUNDLED.file_name
    bad.write_bytes(_truncated(tmp_path))
    manager = ModelManager(Settings(_env_file=None, models_dir=tmp_path, device="cpu"))
    for _ in range(2):  # not cached: a replaced file works without a restart
        with pytest.raises(ModelLoadError) as info:
            manager.get(NOT_BUNDLED.name)
        assert info.value.code == "model_load_failed"
        assert NOT_BUNDLED.file_name in info.value.message
    assert next(e for e in manager.list_models() if e.name == NOT_BUNDLED.name).source == "downloaded"


def test_no_fallback_when_the_bundle_is_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / SPEC.file_name).write_bytes(_wrong_architecture(tmp_path))
    monkeypatch.setattr(loader, "bundled_available", lambda: False)
    manager = ModelManager(Settings(_env_file=None, models_dir=tmp_path, device="cpu"))
    with pytest.raises(ModelLoadError, match=rf"{SPEC.file_name}.*RRDBNet x4, expected SRVGGNetCompact x4"):
        manager.get(FAST)


def test_a_bad_custom_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "my-model.pth").write_bytes(b"\x00" * 64)
    manager = ModelManager(Settings(_env_file=None, models_dir=tmp_path, device="cpu"))
    with pytest.raises(ModelLoadError, match="my-model.pth"):
        manager.get("my-model")
