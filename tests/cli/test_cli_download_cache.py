"""The converted bundle cache: readable by other users, and never claimed when it was not written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backend import download_models
from backend.models.bundled import cache_bundled
from backend.models.registry import OFFICIAL_MODELS
from backend.settings import get_settings

ANIME = OFFICIAL_MODELS["realesr-animevideov3"]  # bundled and small: converts in about a second


def test_bundled_cache_is_world_readable(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        cached = cache_bundled(ANIME.bundled_stem or "", tmp_path / "bundled")
    finally:
        os.umask(old)
    assert cached.stat().st_mode & 0o777 == 0o644  # a service running as another user reads it
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no temporary left


def test_default_model_without_writable_cache_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("not a directory")
    monkeypatch.setenv("DEFAULT_MODEL", ANIME.name)
    get_settings.cache_clear()
    try:
        assert download_models.main(["--models-dir", str(not_a_dir)]) == 0  # the model still works
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "converted in memory on each start" in out and "could not write the cache" in out
    assert "cached in" not in out
