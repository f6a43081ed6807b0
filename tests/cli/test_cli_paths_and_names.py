"""`upscale` given paths and names that look fine but are not: empty, looping links, near-integer scales."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from backend import cli
from tests.cli.cli_helpers import MODEL, files_in, run_cli, save_tiny


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
    assert files_in(tmp_path) == {"a.png"}


def test_scales_that_differ_get_different_names(cli_env: Path, tmp_path: Path) -> None:
    # `-s 1.0000001` was named `_x1` like `-s 1`, so one result replaced or skipped the other.
    source = save_tiny(tmp_path / "a.png")
    assert run_cli(str(source), "-s", "1") == 0
    assert run_cli(str(source), "-s", "1.0000001") == 0
    assert run_cli(str(source), "-s", "2.5") == 0
    assert run_cli(str(source), "-s", "4.0") == 0
    assert files_in(tmp_path) == {"a.png", "a_x1.png", "a_x1_0000001.png", "a_x2_5.png", "a_x4.png"}
    with Image.open(tmp_path / "a_x2_5.png") as image:
        assert image.size == (40, 40)


@pytest.mark.parametrize("output", ["loop/", "loop", "loop/x.png", "loop/sub/"])
def test_an_output_folder_that_is_a_symlink_loop_says_so(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str
) -> None:
    # It said "part of the path is a file, not a folder", which sent the user looking for a file.
    source = save_tiny(tmp_path / "a.png")
    (tmp_path / "loop").symlink_to("loop")
    assert run_cli(str(source), "-o", str(tmp_path / output)) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'loop'} is a symlink loop" in err
    assert "part of the path is a file" not in err and "Traceback" not in err
    assert files_in(tmp_path) == {"a.png", "loop"}


def test_an_empty_input_is_a_usage_error_not_the_current_folder(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `upscale "$DIR"` with DIR unset upscaled every image in the current folder.
    monkeypatch.chdir(tmp_path)
    save_tiny(tmp_path / "a.png")
    save_tiny(tmp_path / "b.png")
    assert run_cli("b.png", "") == 2
    err = capsys.readouterr().err
    assert "an INPUT is empty" in err
    assert "Traceback" not in err
    assert files_in(tmp_path) == {"a.png", "b.png"}


@pytest.mark.parametrize("output", ["~/out/", "~/b.png"])
def test_a_tilde_in_output_means_home_as_it_does_in_inputs(
    cli_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str
) -> None:
    # The shell leaves `--output=~/out/` as it is; the CLI made a folder called `~` in the current one.
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    save_tiny(work / "a.png")
    assert run_cli("a.png", f"--output={output}") == 0
    assert files_in(work) == {"a.png"}
    expected = home / ("out/a_x4.png" if output.endswith("/") else "b.png")
    with Image.open(expected) as image:
        assert image.size == (64, 64)


@pytest.mark.parametrize("output", ["gone/", "gone/x.png", "gone/sub/"])
def test_an_output_folder_that_is_a_dangling_symlink_says_so(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str
) -> None:
    # It said "part of the path is a file, not a folder": there is no file, only a link to nowhere.
    source = save_tiny(tmp_path / "a.png")
    (tmp_path / "gone").symlink_to("moved-away")
    assert run_cli(str(source), "-o", str(tmp_path / output)) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'gone'} is a symlink to moved-away, which does not exist" in err
    assert "part of the path is a file" not in err and "Traceback" not in err
    assert files_in(tmp_path) == {"a.png", "gone"}


@pytest.mark.parametrize(
    ("link", "target", "named", "reason"),
    [
        ("loop.png", "loop.png", "loop.png", "loop.png is a symlink loop"),
        ("gone.png", "moved.png", "gone.png", "gone.png is a symlink to moved.png, which does not exist"),
        ("gone", "moved", "gone/x.png", "gone is a symlink to moved, which does not exist"),
    ],
)
def test_an_input_through_a_bad_symlink_says_so(
    cli_env: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    link: str,
    target: str,
    named: str,
    reason: str,
) -> None:
    # "file not found" sent the user looking for a typo in a name that is there.
    monkeypatch.chdir(tmp_path)
    save_tiny(tmp_path / "a.png")
    (tmp_path / link).symlink_to(target)
    assert run_cli(named, "a.png") == 1
    err = capsys.readouterr().err
    assert f"{named}: {reason}" in err
    assert "file not found" not in err and "Traceback" not in err
    assert (tmp_path / "a_x4.png").exists()


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["-s", "1_5"], "argument -s/--scale: '1_5' is not a number"),  # Python's float() read 15
        (["-s", "2,5"], "argument -s/--scale: '2,5' is not a number (decimals take a dot: 2.5)"),
        (["-s", "٢"], "argument -s/--scale: '٢' is not a number"),  # float() read 2
        (["-t", "3_2"], "argument -t/--tile: '3_2' is not a whole number"),  # int() read 32
        (["-q", "9_5"], "argument -q/--quality: '9_5' is not a whole number"),
        (["--denoise-strength", "0_5"], "argument --denoise-strength: '0_5' is not a number"),
    ],
)
def test_numbers_are_written_as_people_write_them(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    # Python's own int() and float() take `1_5` (as 15) and other scripts' digits; a user means neither.
    source = save_tiny(tmp_path / "a.png")
    with pytest.raises(SystemExit) as exc:
        run_cli(str(source), *argv)
    assert exc.value.code == 2
    assert said in capsys.readouterr().err
    assert files_in(tmp_path) == {"a.png"}


@pytest.mark.parametrize(("argv", "name"), [(["-s", " 2.5 "], "a_x2_5.png"), (["-s", "+3", "-t", "+32"], "a_x3.png")])
def test_numbers_with_spaces_or_a_plus_still_work(cli_env: Path, tmp_path: Path, argv: list[str], name: str) -> None:
    source = save_tiny(tmp_path / "a.png")
    assert run_cli(str(source), *argv) == 0
    assert (tmp_path / name).exists()


def test_a_file_named_with_a_trailing_slash_is_not_a_folder(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `a.png/` asks for a folder, as `ls a.png/` does ("Not a directory"); it upscaled the file.
    monkeypatch.chdir(tmp_path)
    save_tiny(tmp_path / "a.png")
    assert run_cli("a.png/") == 1
    err = capsys.readouterr().err
    assert "a.png/: a file, not a folder" in err and "Traceback" not in err
    assert files_in(tmp_path) == {"a.png"}


def test_options_may_come_between_inputs(cli_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `upscale a.png -s 2 b.png` said "unrecognized arguments: b.png" (argparse's nargs="+" stops at -s).
    monkeypatch.chdir(tmp_path)
    save_tiny(tmp_path / "a.png")
    save_tiny(tmp_path / "b.png")
    save_tiny(tmp_path / "-c.png")
    assert cli.main(["a.png", "-s", "2", "b.png", "--no-progress", "-m", MODEL, "--", "-c.png"]) == 0
    assert files_in(tmp_path) == {"a.png", "b.png", "-c.png", "a_x2.png", "b_x2.png", "-c_x2.png"}


@pytest.mark.parametrize("argv", [["--help"], []], ids=["--help", "no input"])
def test_the_usage_line_says_one_input_is_required(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == (0 if argv else 2)
    captured = capsys.readouterr()
    usage = captured.out if argv else captured.err
    assert usage.count("INPUT [INPUT ...]") == 1 and "INPUT INPUT" not in usage
    if not argv:
        assert "error: the following arguments are required: INPUT" in usage


def test_an_empty_model_is_a_usage_error_not_the_default_model(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `-m "$MODEL"` with MODEL unset ran the default model (a different, much slower one) without a word.
    source = save_tiny(tmp_path / "a.png")
    assert cli.main([str(source), "-m", "", "--no-progress"]) == 2
    assert "--model is empty" in capsys.readouterr().err
    assert files_in(tmp_path) == {"a.png"}


def test_help_says_where_results_go_and_what_the_exit_status_means(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal's width
    assert "next to its input, or into the --output folder, as NAME_x4.png" in text
    assert "NAME_x2_5.png for -s 2.5" in text
    assert "Each result written is named on stdout, one path a line" in text
    codes = {
        cli.EXIT_OK: "0 all done",
        cli.EXIT_FAILED: "1 a file failed",
        cli.EXIT_USAGE: "2 a usage error",
        cli.EXIT_INTERRUPTED: "130 Ctrl-C",
        cli.EXIT_TERMINATED: "143 SIGTERM",
        cli.EXIT_BROKEN_PIPE: "141 the reader",
    }
    for code, words in codes.items():
        assert words.startswith(f"{code} ") and words in text
