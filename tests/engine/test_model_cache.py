"""Loaded models stay bounded: each denoise strength is its own blended network, so only the
most recently used few are kept, and the metrics still count every pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from backend.models.manager import DENOISE_VARIANTS_KEPT, ModelManager
from backend.settings import Settings
from tests.api.conftest import make_tiny_model


@pytest.fixture
def general_models(tmp_path: Path) -> Path:
    # Stand-ins under the official file names: the test is about the cache, not about the pixels.
    for seed, name in enumerate(("realesr-general-x4v3", "realesr-general-wdn-x4v3")):
        tiny = tmp_path / f"{name}.safetensors"
        make_tiny_model(tiny, seed=seed)
        torch.save({"params": load_file(str(tiny))}, tmp_path / f"{name}.pth")
        tiny.unlink()
    return tmp_path


def test_denoise_variants_are_bounded_and_counted(general_models: Path) -> None:
    manager = ModelManager(Settings(models_dir=general_models, device="cpu", _env_file=None))
    image = np.zeros((8, 8, 3), np.uint8)
    for strength in (0.1, 0.2, 0.3, 0.4, 0.5):
        manager.get("realesr-general-x4v3", strength).upscale(image)
    kept = [key for key in manager._loaded if key[1] is not None]
    assert kept == [("realesr-general-x4v3", 0.4), ("realesr-general-x4v3", 0.5)]
    assert len(kept) == DENOISE_VARIANTS_KEPT
    # One series per model, and evicted variants' passes still count.
    stats = manager.batch_stats()
    assert list(stats) == ["realesr-general-x4v3"]
    assert stats["realesr-general-x4v3"].passes >= 5

    # A recently used variant stays; strength 1 is the model itself, not a variant.
    assert manager.get("realesr-general-x4v3", 0.4) is manager.get("realesr-general-x4v3", 0.4)
    assert manager.get("realesr-general-x4v3", 1.0) is manager.get("realesr-general-x4v3")
    manager.get("realesr-general-x4v3", 0.6)
    assert ("realesr-general-x4v3", 0.4) in manager._loaded
    assert ("realesr-general-x4v3", 0.5) not in manager._loaded
