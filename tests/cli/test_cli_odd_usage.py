"""The `upscale` command used the way people really use it: messy folders, odd names, mistakes, Ctrl-C.

Every case checks what the user sees: the exit code, a one-line reason without a traceback, and
which files exist afterwards (inputs untouched, no half-written results).
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from skimage import data as skdata

from backend import cli
from backend.settings import REPO_DIR
from tests.cli.cli_helpers import MODEL, files_in, run_cli, save_tiny


def test_a_messy_folder_upscales_its_images_and_nothing_else(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mess"
    folder.mkdir()
    save_tiny(folder / "a.png")
    save_tiny(folder / "with space ünï.png")
    (folder / "notes.txt").write_text("not an image")
    (folder / "._a.png").write_bytes(b"\x00\x05\x16\x07" + b"\x00" * 60)  # macOS AppleDouble, not an image
    save_tiny(folder / ".hidden.png")  # hidden on purpose: shells and file managers leave it out too
    (folder / "sub").mkdir()
    save_tiny(folder / "sub" / "inner.png")  # not recursive
    (folder / "link.png").symlink_to("a.png")  # the same image again
    (folder / "dangling.png").symlink_to("missing.png")
    before = files_in(folder)

    # The folder, one of its files named again and a link to it: each image once.
    assert run_cli(str(folder), str(folder / "a.png"), str(folder / "link.png")) == 0
    assert files_in(folder) - before == {"a_x4.png", "with space ünï_x4.png"}
    err = capsys.readouterr().err
    assert "2 upscaled, 0 skipped, 0 failed" in err
    assert "Traceback" not in err


def test_a_corrupt_image_fails_alone_and_the_exit_code_says_so(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = save_tiny(tmp_path / "good.png")
    broken = tmp_path / "broken.png"
    broken.write_bytes(good.read_bytes()[:100])
    assert run_cli(str(broken), str(tmp_path / "nothing*.png"), str(good)) == 1
    assert files_in(tmp_path) == {"good.png", "broken.png", "good_x4.png"}
    err = capsys.readouterr().err
    assert f"failed: {broken}: " in err
    assert f"{tmp_path / 'nothing*.png'}: no files match" in err
    assert "1 upscaled, 0 skipped, 2 failed" in err
    assert "Traceback" not in err


def test_an_unreadable_folder_is_a_failure_not_a_traceback(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    good = save_tiny(tmp_path / "good.png")
    real_iterdir = Path.iterdir

    def iterdir(self: Path):  # what a folder without read permission does (the tests may run as root)
        if self == locked:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    assert run_cli(str(locked), str(good)) == 1
    err = capsys.readouterr().err
    assert f"{locked}: cannot read folder: Permission denied" in err
    assert "Traceback" not in err
    assert (tmp_path / "good_x4.png").exists()


def test_output_onto_its_own_input_needs_overwrite(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = save_tiny(tmp_path / "a.png")
    original = source.read_bytes()
    assert run_cli(str(source), "-o", str(source)) == 1
    assert source.read_bytes() == original
    assert "use --overwrite to replace it" in capsys.readouterr().err

    # Asked for explicitly: replaced in place, by a whole image.
    assert run_cli(str(source), "-o", str(source), "--overwrite") == 0
    with Image.open(source) as image:
        assert image.size == (64, 64)
    assert files_in(tmp_path) == {"a.png"}


def test_a_result_never_replaces_another_input_of_the_batch(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = save_tiny(tmp_path / "a.png")
    second = save_tiny(tmp_path / "a_x4.png")  # a 16x16 image the user named: an input, not a result
    original = second.read_bytes()
    assert run_cli(str(first), str(second), "--overwrite") == 1
    assert second.read_bytes() == original
    with Image.open(tmp_path / "a_x4_x4.png") as image:
        assert image.size == (64, 64)  # made from the untouched 16x16 input
    assert f"output {second} is also an input" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["-"], ["{src}", "-o", "-"]])
def test_dash_for_stdin_or_stdout_is_refused(
    cli_env: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    # Not supported: say so rather than read a file called '-' or make a folder called '-'.
    monkeypatch.chdir(tmp_path)
    save_tiny(tmp_path / "a.png")
    assert run_cli(*(a.format(src="a.png") for a in argv)) == 2
    err = capsys.readouterr().err
    assert "stdin and stdout ('-') are not supported" in err
    assert files_in(tmp_path) == {"a.png"}


def test_a_file_name_starting_with_dash(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    save_tiny(tmp_path / "-dash.png")
    with pytest.raises(SystemExit) as exc:
        run_cli("-dash.png")
    assert exc.value.code == 2
    assert "./-dash.png" in capsys.readouterr().err  # how to name it instead
    assert cli.main(["--model", MODEL, "--no-progress", "--", "-dash.png"]) == 0
    assert (tmp_path / "-dash_x4.png").exists()


@pytest.mark.parametrize(("argv", "message"), [(["-t", "1e3"], "-t/--tile"), (["-q", "high"], "-q/--quality")])
def test_a_malformed_number_names_the_option(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exc:
        run_cli(str(tmp_path / "a.png"), *argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {message}: {argv[1]!r} is not a whole number" in err
    assert "_int" not in err and "_quality" not in err  # no Python function names


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == "upscale 0.1.0"


def test_denoise_strength_on_a_model_without_it_is_a_usage_error(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = save_tiny(tmp_path / "a.png")
    assert run_cli(str(source), "--denoise-strength", "0.5") == 2
    assert "--denoise-strength works only with realesr-general-x4v3" in capsys.readouterr().err
    assert files_in(tmp_path) == {"a.png"}


def test_an_unknown_model_lists_the_available_ones(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = save_tiny(tmp_path / "a.png")
    assert cli.main([str(source), "-m", "realesr-animevideo3", "--no-progress"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("usage: upscale")  # a usage error, like every other bad option
    assert "unknown model 'realesr-animevideo3'" in err
    assert MODEL in err  # the one the user probably meant
    assert files_in(tmp_path) == {"a.png"}


@pytest.mark.parametrize(
    ("model", "reason"),
    [("NoSuchModel", "unknown model 'NoSuchModel'"), ("../etc/passwd", "invalid model name '../etc/passwd'")],
)
def test_a_bad_model_name_is_a_usage_error_before_any_input_is_read(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], model: str, reason: str
) -> None:
    """Checked first, as the API checks the model before the upload: a missing input is not reported."""
    source = save_tiny(tmp_path / "a.png")
    argv = [str(source), str(tmp_path / "missing.png"), "-o", str(tmp_path / "out") + "/", "-m", model]
    assert cli.main([*argv, "--no-progress"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert reason in err
    assert "missing.png" not in err and "failed" not in err
    assert files_in(tmp_path) == {"a.png"}


@pytest.mark.parametrize("tile", ["0", "33", "47"])
def test_no_tiling_and_odd_tile_sizes_work(cli_env: Path, tmp_path: Path, tile: str) -> None:
    source = tmp_path / "a.png"
    Image.fromarray(skdata.astronaut()[60:100, 180:228]).save(source)  # 48x40: several odd tiles
    assert run_cli(str(source), "-t", tile) == 0
    with Image.open(tmp_path / "a_x4.png") as image:
        assert image.size == (192, 160)


def test_disk_full_leaves_no_partial_file_and_keeps_the_old_result(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = save_tiny(tmp_path / "a.png"), save_tiny(tmp_path / "b.png")
    (tmp_path / "a_x4.png").write_bytes(b"old result")
    real_fdopen = os.fdopen

    class FullDisk:
        """Takes half of the first result, then runs out of space (what /dev/full does)."""

        def __init__(self, fh) -> None:
            self.fh = fh

        def __enter__(self) -> FullDisk:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def write(self, data: bytes) -> int:
            self.fh.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    calls = []

    def fdopen(fd: int, *args, **kwargs):
        calls.append(fd)
        fh = real_fdopen(fd, *args, **kwargs)
        return FullDisk(fh) if len(calls) == 1 else fh

    monkeypatch.setattr(cli.atomic_write.os, "fdopen", fdopen)
    assert run_cli(str(first), str(second), "--overwrite") == 1
    assert (tmp_path / "a_x4.png").read_bytes() == b"old result"
    assert files_in(tmp_path) == {"a.png", "b.png", "a_x4.png", "b_x4.png"}  # no temp file left
    assert f"failed: {first}: cannot write {tmp_path / 'a_x4.png'}: No space left on device" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("stop", "code", "said"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],  # Ctrl-C; `timeout`, `kill`
    ids=["ctrl-c", "sigterm"],
)
def test_a_stop_mid_batch_exits_and_leaves_only_whole_results(
    tmp_path: Path, shared_models_dir: Path, stop: signal.Signals, code: int, said: str
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(30):
        save_tiny(folder / f"m{i:02}.png")
    env = {**os.environ, "MODELS_DIR": str(shared_models_dir), "DEVICE": "cpu", "WARMUP": "false"}
    cmd = [sys.executable, "-m", "backend", str(folder), "--model", MODEL, "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=REPO_DIR, env=env, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert first.startswith("ok: "), first
    proc.send_signal(stop)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == code
    assert said in rest and "Traceback" not in rest
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "a temp file was left behind"
    results = sorted(p for p in folder.iterdir() if p.name.endswith("_x4.png"))
    assert 1 <= len(results) < 30
    assert files_in(folder) == {f"m{i:02}.png" for i in range(30)} | {p.name for p in results}
    for path in results:
        with Image.open(path) as image:
            image.load()  # complete, not truncated
            assert image.size == (64, 64)


def test_stdout_lists_each_written_result_and_nothing_else(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`upscale dir/ | xargs ...`: one path per written result; skips, failures and messages stay on stderr."""
    for name in ("a.png", "b.png", "c.png"):
        save_tiny(tmp_path / name)
    (tmp_path / "b_x4.png").write_bytes(b"an earlier result")  # skipped
    (tmp_path / "d.png").write_bytes(b"not an image")  # failed
    assert (
        run_cli(str(tmp_path / "a.png"), str(tmp_path / "b.png"), str(tmp_path / "c.png"), str(tmp_path / "d.png")) == 1
    )
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [str(tmp_path / "a_x4.png"), str(tmp_path / "c_x4.png")]
    assert "ok: " in captured.err and "skip: " in captured.err and "failed: " in captured.err
