"""Concurrent downloads of one model: the later runs wait for the lock, then reuse the file."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from backend.models import download as dl
from backend.models.registry import OFFICIAL_MODELS, ModelSpec
from backend.settings import Settings

if TYPE_CHECKING:
    from conftest import FileServer

ANIME = OFFICIAL_MODELS["realesr-animevideov3"]


def test_concurrent_downloads_wait_for_each_other(
    file_server: FileServer,
    tmp_path: Path,
    make_ckpt: Callable[[int], bytes],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = make_ckpt(8)
    file_server.add(f"/{ANIME.release_tag}/{ANIME.file_name}", data)
    real_check = dl.weights_problem

    def slow_check(path: Path, spec: ModelSpec) -> str | None:
        time.sleep(0.5)  # keeps the first run busy while the others start
        return real_check(path, spec)

    monkeypatch.setattr(dl, "weights_problem", slow_check)
    settings = Settings(models_dir=tmp_path, download_base_url=file_server.url)
    results: list[Path | BaseException] = []

    def run() -> None:
        try:
            results.append(dl.download_model(ANIME, settings, show_progress=False, retries=0))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    with caplog.at_level(logging.WARNING, logger="backend.models.download"):
        for thread in threads:
            thread.start()
            time.sleep(0.1)
        for thread in threads:
            thread.join(timeout=60)
    assert results == [tmp_path / ANIME.file_name] * 3
    assert (tmp_path / ANIME.file_name).read_bytes() == data
    assert len(file_server.requests) == 1  # the waiting runs found the verified file
    assert "waiting for another download of realesr-animevideov3.pth" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == [ANIME.file_name]  # no .part or .lock left


def test_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    dest = tmp_path / "m.pth"
    order: list[str] = []
    with dl.target_lock(dest):
        thread = threading.Thread(target=_take_lock, args=(dest, order))
        thread.start()
        time.sleep(0.3)
        order.append("first done")
    thread.join(timeout=10)
    assert order == ["first done", "second"]
    assert list(tmp_path.iterdir()) == []


def _take_lock(dest: Path, order: list[str]) -> None:
    with dl.target_lock(dest):
        order.append("second")
