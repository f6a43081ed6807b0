"""Settings written but left empty (`MODELS_DIR=` in .env, `${JOBS_DIR:-}` in compose) and bad
settings seen by download_models.py, the first program `scripts/run.sh` starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.settings import REPO_DIR, Settings


@pytest.mark.parametrize("name", ["MODELS_DIR", "JOBS_DIR"])
@pytest.mark.parametrize("blank", ["", "  "])
def test_an_empty_folder_setting_means_the_default_not_the_current_directory(
    name: str, blank: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    field = name.lower()
    default = Settings.model_fields[field].default
    monkeypatch.setenv(name, blank)
    assert getattr(Settings(_env_file=None), field) == default
    assert default != Path(".")


def test_download_models_names_a_bad_setting_in_one_line_and_exits_2() -> None:
    environment = {**os.environ, "DEVICE": "gpu"}
    run = subprocess.run(
        [sys.executable, "backend/download_models.py", "--list"],
        cwd=REPO_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr[-2000:]
    assert run.stderr.strip().splitlines() == [
        "error: invalid setting DEVICE='gpu': 'gpu' is not a device: use auto, cuda, cuda:N, mps or cpu"
    ]
