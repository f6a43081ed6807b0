"""A misconfigured service stops at start with one line per bad setting, not a traceback or a silent fallback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from backend.settings import Settings
from tests.api.conftest import REPO


def _start(command: list[str], cwd: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "WARMUP": "false", **env}
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("DEVICE", "gpu", "'gpu' is not a device: use auto, cuda, cuda:N, mps or cpu"),
        ("DEVICE_ORDER", "gpu,cpu", "unknown device types ['gpu']"),
        ("LOG_LEVEL", "verbose", "Input should be 'critical', 'error', 'warning', 'info', 'debug' or 'trace'"),
        ("TILE", "abc", "valid integer"),
        ("ROOT_PATH", "/upscaler/", "use empty or a path such as /upscaler"),
        ("ROOT_PATH", "upscaler", "starting with '/'"),
    ],
)
def test_python_api_server_exits_2_naming_the_setting(name: str, value: str, reason: str) -> None:
    run = _start([sys.executable, "api_server.py"], str(REPO / "backend"), **{name: value})
    assert run.returncode == 2, run.stderr[-2000:]
    assert f"error: invalid setting {name}='{value}': " in run.stderr and reason in run.stderr
    assert "Traceback" not in run.stderr


def test_uvicorn_refuses_to_start_with_a_bad_device() -> None:
    run = _start([sys.executable, "-m", "uvicorn", "backend.api_server:app", "--port", "1"], str(REPO), DEVICE="gpu")
    assert run.returncode != 0
    assert "invalid setting DEVICE='gpu'" in run.stderr


@pytest.mark.parametrize(
    ("value", "device"), [("CUDA", "cuda"), (" cuda:1 ", "cuda:1"), ("Auto", "auto"), ("cpu", "cpu")]
)
def test_device_spellings_that_mean_a_device_are_accepted(value: str, device: str) -> None:
    assert Settings(device=value).device == device


def test_log_level_in_capitals_is_accepted() -> None:
    assert Settings(log_level="DEBUG").log_level == "debug"
