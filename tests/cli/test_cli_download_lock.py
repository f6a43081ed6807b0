"""Concurrent downloads of one model: the later runs wait for the lock, then reuse the file."""

from __future__ import annotations

import logging
import subprocess
import sys
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
    # No .part left; filelock leaves the empty lock file in place (deleting it would race a waiter).
    assert sorted(p.name for p in tmp_path.iterdir()) == [ANIME.file_name, ANIME.file_name + ".lock"]
    assert (tmp_path / (ANIME.file_name + ".lock")).stat().st_size == 0


def _second_waits_for_first(dest: Path) -> None:
    """A second holder (another thread) gets the lock only after the first lets it go."""
    order: list[str] = []
    with dl.target_lock(dest):
        thread = threading.Thread(target=_take_lock, args=(dest, order))
        thread.start()
        time.sleep(0.3)
        order.append("first done")
    thread.join(timeout=10)
    assert order == ["first done", "second"]


def test_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    dest = tmp_path / "m.pth"
    _second_waits_for_first(dest)
    assert [p.name for p in tmp_path.iterdir()] == ["m.pth.lock"]
    with dl.target_lock(dest):  # released: taken again at once
        pass


_HOLDER = """
import sys, time
from pathlib import Path
from backend.models.download import target_lock
with target_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_lock_excludes_another_process_and_says_waiting_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dest = tmp_path / "m.pth"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(dest), "0.8"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        start = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="backend.models.download"), dl.target_lock(dest):
            waited = time.monotonic() - start
    finally:
        holder.wait(timeout=30)
    assert waited > 0.5  # held until the other process let go (after 0.8 s)
    assert caplog.text.count("waiting for another download of m.pth") == 1


def _take_lock(dest: Path, order: list[str]) -> None:
    with dl.target_lock(dest):
        order.append("second")


def test_lock_does_not_depend_on_fcntl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no fcntl: the lock must still exclude (filelock picks msvcrt there)."""
    monkeypatch.setitem(sys.modules, "fcntl", None)  # `import fcntl` now raises ImportError
    dest = tmp_path / "m.pth"
    _second_waits_for_first(dest)
