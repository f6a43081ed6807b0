"""`upscale` given paths and names that look fine but are not: empty, looping links, near-integer scales."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.cli_helpers import run_cli, save_tiny


def names_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.mark.parametrize("argv", [["-o", ""], ["--output="]], ids=["-o ''", "--output="])
def test_an_empty_output_is_a_usage_error_not_the_current_folder(
    cli_env: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    # `-o "$OUT"` with OUT unset: writing into the current folder was a silent surprise.
    monkeypatch.chdir(tmp_path)
    save_tiny(tmp_path / "a.png")
    assert run_cli("a.png", *argv) == 2
    err = capsys.readouterr().err
    assert "--output is empty" in err
    assert "Traceback" not in err
    assert names_in(tmp_path) == {"a.png"}
