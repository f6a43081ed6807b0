"""Command lines the fuzz (test_cli_fuzz.py) found ending in a traceback, kept as plain regressions."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.cli.cli_helpers import run_cli, save_tiny


def test_an_input_under_an_unknown_users_home_is_not_found(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The shell leaves `~nosuchuser/x.png` as it is; Path.expanduser raised RuntimeError on it.
    good = save_tiny(tmp_path / "a.png")
    assert run_cli("~nosuchuser/x.png", str(good)) == 1
    err = capsys.readouterr().err
    assert "~nosuchuser/x.png: file not found" in err
    assert "Traceback" not in err
    assert (tmp_path / "a_x4.png").exists()


@pytest.mark.parametrize("name", ["x" * 300 + ".png", "x" * 300 + "/", "x" * 300])
def test_an_output_name_longer_than_the_system_allows_fails_with_a_message(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    # Path.is_dir() raised OSError(ENAMETOOLONG) out of resolve_output.
    source = save_tiny(tmp_path / "a.png")
    assert run_cli(str(source), "-o", str(tmp_path / name)) == 1
    err = capsys.readouterr().err
    assert "File name too long" in err
    assert "Traceback" not in err
    assert {p.name for p in tmp_path.iterdir()} == {"a.png"}


def test_an_input_that_is_neither_file_nor_folder_says_so(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # /dev/null exists: "file not found" sent the user looking for a typo.
    good = save_tiny(tmp_path / "a.png")
    assert run_cli("/dev/null", str(good)) == 1
    err = capsys.readouterr().err
    assert "/dev/null: not a file or folder" in err
    assert "Traceback" not in err
    assert (tmp_path / "a_x4.png").exists()


@pytest.mark.parametrize("option", ["-t", "-q"])
def test_a_whole_number_with_thousands_of_digits_is_called_too_long(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    # int() refuses over 4300 digits: it said "'999…' is not a whole number", 5000 digits long.
    source = save_tiny(tmp_path / "a.png")
    with pytest.raises(SystemExit) as exc:
        run_cli(str(source), option, "9" * 5000)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "a whole number of 5000 digits is too long" in err
    assert "9" * 100 not in err and "Traceback" not in err


@pytest.mark.parametrize("output", ["loop.png", "loop.png/", "loop.png/x.png"])
def test_an_output_through_a_symlink_loop_is_not_a_traceback(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str
) -> None:
    # Path.resolve raised RuntimeError("Symlink loop") out of the batch (Python 3.11).
    source = save_tiny(tmp_path / "a.png")
    (tmp_path / "loop.png").symlink_to("loop.png")
    code = run_cli(str(source), "-o", str(tmp_path / output))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code == 0:  # the link itself replaced by the result, as a rename does
        with Image.open(tmp_path / output) as image:
            assert image.size == (64, 64)
    else:
        assert code == 1 and f"failed: {source}: " in err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
