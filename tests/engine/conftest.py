"""Shared fixtures for engine tests: real bundled weights and real photographs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import data

from backend.models import winograd
from backend.models.manager import ModelManager
from backend.settings import Settings
from tests.engine.engine_helpers import ISAS


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One models dir per session, so each bundled model is converted once."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def make_settings(models_dir: Path) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        return Settings(_env_file=None, models_dir=models_dir, **overrides)

    return make


@pytest.fixture(scope="session")
def manager(models_dir: Path) -> ModelManager:
    return ModelManager(Settings(_env_file=None, models_dir=models_dir, device="cpu"))


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A 96x96 crop of a real photograph (the astronaut's face and badge)."""
    return np.ascontiguousarray(data.astronaut()[60:156, 150:246])


@pytest.fixture
def one_thread() -> Iterator[None]:
    """NNPACK's thread pool and OpenMP's spinning workers fight over 2 shared cores (bench/FINDINGS.md)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(params=ISAS or [winograd.ISA_NONE], ids=lambda isa: {2: "avx512", 1: "avx2", 0: "none"}[isa])
def isa(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Runs a test once per instruction set this CPU has (AVX-512 CPUs run the AVX2 kernels too)."""
    monkeypatch.setattr(winograd, "FORCE_ISA", request.param)
    return request.param
