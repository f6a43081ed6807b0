"""The `upscale` command end to end on a real photo crop with the bundled animevideov3 model."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from backend import cli
from backend.settings import REPO_DIR
from tests.cli.cli_helpers import MODEL, run_cli


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A 48x40 crop of a real photograph (the astronaut's face)."""
    path = tmp_path / "face.png"
    Image.fromarray(skdata.astronaut()[60:100, 180:228]).save(path)
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A 16x16 image alone in its own folder: cheap to upscale on two CPU cores."""
    folder = tmp_path / "img"
    folder.mkdir()
    path = folder / "tiny.png"
    Image.fromarray(skdata.astronaut()[80:96, 200:216]).save(path)
    return path


def test_upscale_writes_x4_png_next_to_input(cli_env: Path, photo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(str(photo)) == 0
    out = photo.with_name("face_x4.png")
    with Image.open(out) as image:
        assert image.format == "PNG"
        assert image.size == (48 * 4, 40 * 4)
        small = np.asarray(image.convert("RGB").resize((48, 40), Image.BICUBIC), dtype=np.float32)
    with Image.open(photo) as original:
        reference = np.asarray(original, dtype=np.float32)
    # Sanity: the output, shrunk back, still looks like the input (a real upscale, not noise).
    assert np.abs(small - reference).mean() < 20
    assert "1 upscaled, 0 skipped, 0 failed" in capsys.readouterr().err


def test_skip_existing_by_default_then_overwrite(
    cli_env: Path, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = photo.with_name("face_x4.png")
    out.write_bytes(b"keep me")
    assert run_cli(str(photo)) == 0
    assert out.read_bytes() == b"keep me"
    assert "skip:" in capsys.readouterr().err
    assert run_cli(str(photo), "--overwrite") == 0
    with Image.open(out) as image:
        assert image.size == (192, 160)


def test_scale_format_and_output_folder(cli_env: Path, photo: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    second = photo.with_name("second.jpg")
    Image.open(photo).convert("RGB").save(second, quality=90)
    assert run_cli(str(photo), str(second), "--scale", "2", "--format", "jpeg", "--output", str(out_dir) + "/") == 0
    for stem in ("face", "second"):
        with Image.open(out_dir / f"{stem}_x2.jpg") as image:
            assert image.format == "JPEG"
            assert image.size == (96, 80)


def test_output_file_suffix_picks_format(cli_env: Path, photo: Path, tmp_path: Path) -> None:
    target = tmp_path / "result.webp"
    assert run_cli(str(photo), "--output", str(target), "--tile", "32") == 0
    with Image.open(target) as image:
        assert image.format == "WEBP"
        assert image.size == (192, 160)


def test_bad_and_missing_files_fail_but_batch_continues(
    cli_env: Path, photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"this is not an image")
    code = run_cli(str(bad), str(tmp_path / "missing.png"), str(photo))
    err = capsys.readouterr().err
    assert code == 1
    assert photo.with_name("face_x4.png").is_file()  # the good file was still done
    assert "1 upscaled, 0 skipped, 2 failed" in err
    assert "broken.png" in err and "missing.png: file not found" in err
    assert not (tmp_path / "broken_x4.png").exists()


def test_output_over_the_pixel_limit_fails_alone_with_a_message(
    cli_env: Path, photo: Path, tiny: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 48x40 x4 is 30720 pixels, over the limit; the 16x16 image (4096) is under it and still done.
    monkeypatch.setenv("MAX_OUTPUT_PIXELS", "20000")
    assert run_cli(str(photo), str(tiny)) == 1
    err = capsys.readouterr().err
    assert "the limit is 20000" in err and "1 upscaled, 0 skipped, 1 failed" in err
    assert "Traceback" not in err
    assert not list(photo.parent.glob("face_x*"))
    assert tiny.with_name("tiny_x4.png").is_file()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--scale", "0.03", "scale must be between 1 and 8"),
        ("--scale", "inf", "scale must be between 1 and 8"),
        ("--scale", "1e400", "scale must be between 1 and 8"),
        ("--scale", "nan", "scale must be between 1 and 8"),
        ("--scale", "1000", "scale must be between 1 and 8"),
        ("--tile", "1", "tile must be 0 (no tiling) or between 32 and 4096"),
        ("--denoise-strength", "2", "denoise_strength must be between 0 and 1"),
    ],
)
def test_out_of_range_options_are_usage_errors_before_any_work(
    cli_env: Path, tiny: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, message: str
) -> None:
    assert run_cli(str(tiny), option, value) == 2
    err = capsys.readouterr().err
    assert "usage: upscale" in err and message in err
    assert "Traceback" not in err
    assert list(tiny.parent.iterdir()) == [tiny]


def test_scale_limit_follows_the_max_scale_setting(
    cli_env: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MAX_SCALE", "2")
    assert run_cli(str(tiny), "--scale", "3") == 2
    assert "scale must be between 1 and 2" in capsys.readouterr().err
    assert run_cli(str(tiny), "--scale", "1.5") == 0
    with Image.open(tiny.with_name("tiny_x1_5.png")) as image:
        assert image.size == (24, 24)


def test_unknown_model_fails_fast(cli_env: Path, photo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([str(photo), "--model", "no-such-model", "--no-progress"]) == cli.EXIT_USAGE
    assert "unknown model" in capsys.readouterr().err
    assert not photo.with_name("face_x4.png").exists()


def test_glob_and_folder_inputs(tmp_path: Path) -> None:
    for name in ("a.png", "b.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    inputs = cli.expand_inputs([str(tmp_path), str(tmp_path / "*.png"), str(tmp_path / "*.gif")])
    assert [f.name for f in inputs.files] == ["a.png", "b.jpg"]
    assert inputs.problems == [(str(tmp_path / "*.gif"), "no files match")]


def test_python_dash_m_backend_subprocess(photo: Path, shared_models_dir: Path) -> None:
    env = {**os.environ, "MODELS_DIR": str(shared_models_dir), "DEVICE": "cpu"}
    cmd = [sys.executable, "-m", "backend", str(photo), "--model", MODEL, "--no-progress"]
    result = subprocess.run(cmd, cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    with Image.open(photo.with_name("face_x4.png")) as image:
        assert image.size == (192, 160)
    # A missing input: non-zero exit with the reason.
    cmd[3] = str(photo.with_name("nope.png"))
    result = subprocess.run(cmd, cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "file not found" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"), [("PNG_COMPRESSION", "12"), ("TILE", "-5"), ("DEVICE", "gpu"), ("DEVICE_ORDER", "gpu,cpu")]
)
def test_a_bad_setting_exits_2_naming_it_without_a_traceback(
    cli_env: Path,
    photo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
) -> None:
    monkeypatch.setenv(name, value)
    assert run_cli(str(photo)) == 2
    err = capsys.readouterr().err
    assert f"invalid setting {name}='{value}'" in err
    assert "Traceback" not in err
    assert not photo.with_name("face_x4.png").exists()


def test_trailing_slash_makes_a_folder_even_with_a_dot_in_its_name(cli_env: Path, tiny: Path, tmp_path: Path) -> None:
    folder = tmp_path / "out" / "v1.2"
    assert run_cli(str(tiny), "-o", f"{folder}/") == 0
    assert folder.is_dir()
    with Image.open(folder / "tiny_x4.png") as image:
        assert image.size == (64, 64)


@pytest.mark.parametrize("name", ["result.png", "result.JPG", "result.bmp"])
def test_one_image_name_for_several_inputs_is_a_usage_error(
    cli_env: Path, tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    second = tiny.with_name("second.png")
    second.write_bytes(tiny.read_bytes())
    assert run_cli(str(tiny.parent), "-o", str(tmp_path / name)) == 2
    err = capsys.readouterr().err
    assert f"--output {tmp_path / name} names one image, but there are 2 inputs" in err
    assert not (tmp_path / name).exists()


def test_existing_file_as_output_for_several_inputs_is_a_usage_error(
    cli_env: Path, tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    second = tiny.with_name("second.png")
    second.write_bytes(tiny.read_bytes())
    existing = tmp_path / "notes"
    existing.write_bytes(b"keep")
    assert run_cli(str(tiny), str(second), "-o", str(existing)) == 2
    assert "is a file, but there are 2 inputs" in capsys.readouterr().err
    assert existing.read_bytes() == b"keep"


@pytest.mark.parametrize(("name", "fmt"), [("out.jpeg", "JPEG"), ("out.JPG", "JPEG"), ("out.webp", "WEBP")])
def test_output_suffix_sets_the_format(cli_env: Path, tiny: Path, tmp_path: Path, name: str, fmt: str) -> None:
    assert run_cli(str(tiny), "-o", str(tmp_path / name)) == 0
    with Image.open(tmp_path / name) as image:
        assert image.format == fmt


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "out.bmp"], "cannot write '.bmp' files"),
        (["-o", "v1.2"], "cannot write '.2' files"),
        (["-o", "out.png", "-f", "jpeg"], "--format jpeg contradicts --output out.png"),
        (["-o", "out.jpg", "-f", "png"], "--format png contradicts --output out.jpg"),
    ],
)
def test_output_suffix_that_cannot_match_the_data_is_a_usage_error(
    cli_env: Path,
    tiny: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tiny.parent)
    assert run_cli(str(tiny), *args) == 2
    err = capsys.readouterr().err
    assert "usage: upscale" in err and message in err
    assert list(tiny.parent.iterdir()) == [tiny]


def test_matching_format_and_suffix_agree(cli_env: Path, tiny: Path, tmp_path: Path) -> None:
    assert run_cli(str(tiny), "-o", str(tmp_path / "x.jpg"), "-f", "jpeg") == 0
    with Image.open(tmp_path / "x.jpg") as image:
        assert image.format == "JPEG"


def test_outputs_get_ordinary_permissions(cli_env: Path, tiny: Path, tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        assert run_cli(str(tiny), "-o", str(tmp_path / "new.png")) == 0
        assert (tmp_path / "new.png").stat().st_mode & 0o777 == 0o644
        # Replacing a file keeps the mode its owner chose.
        (tmp_path / "new.png").chmod(0o640)
        assert run_cli(str(tiny), "-o", str(tmp_path / "new.png"), "--overwrite") == 0
        assert (tmp_path / "new.png").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old_umask)


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("{img}/tiny.png/x.png", "part of the path is a file, not a folder"),
        ("{img}/tiny.png/sub/x.png", "part of the path is a file, not a folder"),
        ("/proc/x.png", ""),
    ],
)
def test_write_errors_name_the_output(
    cli_env: Path, tiny: Path, capsys: pytest.CaptureFixture[str], output: str, reason: str
) -> None:
    target = output.format(img=tiny.parent)
    assert run_cli(str(tiny), "-o", target) == 1
    err = capsys.readouterr().err
    assert f"failed: {tiny}: cannot write {target}: {reason}" in err
    assert "Traceback" not in err


def test_read_errors_name_the_input(
    cli_env: Path, tiny: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tiny.with_name("gone.png")  # listed, then deleted before its turn came
    monkeypatch.setattr(cli.batch, "expand_inputs", lambda _: cli.Inputs([gone, tiny]))  # where run() looks it up
    assert run_cli(str(tiny)) == 1
    err = capsys.readouterr().err
    assert f"failed: {gone}: cannot read {gone}: No such file or directory" in err
    assert "1 upscaled, 0 skipped, 1 failed" in err


def test_rerun_on_a_folder_does_not_upscale_its_results_again(
    cli_env: Path, tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tiny.parent
    assert run_cli(str(folder)) == 0
    assert run_cli(str(folder), "--scale", "1.5") == 0
    capsys.readouterr()
    assert run_cli(str(folder), "--scale", "2") == 0
    assert run_cli(str(folder / "*.png"), "--scale", "2", "--overwrite") == 0
    err = capsys.readouterr().err
    assert "left out 2 file(s) named like earlier results" in err  # x4 and x1_5
    assert "left out 3 file(s) named like earlier results" in err  # the glob also finds x2
    assert sorted(p.name for p in folder.iterdir()) == ["tiny.png", "tiny_x1_5.png", "tiny_x2.png", "tiny_x4.png"]


def test_a_result_named_explicitly_is_still_upscaled(
    cli_env: Path, tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = tiny.with_name("tiny_x4.png")
    result.write_bytes(tiny.read_bytes())
    assert run_cli(str(tiny.parent), str(result), "--scale", "2") == 0
    err = capsys.readouterr().err
    assert "left out" not in err and "2 upscaled" in err
    with Image.open(tiny.with_name("tiny_x4_x2.png")) as image:
        assert image.size == (32, 32)


@pytest.mark.parametrize(
    ("name", "result"),
    [("a_x4.png", True), ("a_x1_5.jpg", True), ("a_x1.5.webp", True), ("max4.png", False), ("a_x.png", False)],
)
def test_what_counts_as_an_earlier_result(name: str, result: bool) -> None:
    assert cli.looks_like_output(Path(name)) is result


def test_a_grey_photo_gives_the_same_pixels_as_the_api(cli_env: Path, tmp_path: Path) -> None:
    """The CLI rounds the luma of the float output once, as the API pipeline does (it used to take
    the luma of rounded RGB: one level off on about a sixth of the pixels)."""
    from backend.imaging import decode_image
    from backend.models.manager import ModelManager
    from backend.service.jobs import Job
    from backend.service.options import build_options
    from backend.service.pipeline import make_runner, prepare
    from backend.settings import Settings

    photo = tmp_path / "camera.png"
    Image.fromarray(skdata.camera()[300:340, 100:148]).save(photo)  # mode "L"
    assert run_cli(str(photo)) == 0
    with Image.open(photo.with_name("camera_x4.png")) as written:
        assert written.mode == "L"
        from_cli = np.asarray(written)

    settings = Settings(_env_file=None, models_dir=cli_env, device="cpu")
    manager = ModelManager(settings)
    job_input = prepare(manager, settings, photo.read_bytes(), build_options(settings, model=MODEL))
    job = Job(id="grey", input=job_input, persist=False)
    make_runner(manager, tmp_path)(job)
    assert job.error is None and job.result is not None
    from_api = decode_image(job.result, max_pixels=10**7).pixels[..., 0]
    assert from_cli.shape == from_api.shape == (160, 192)
    assert np.array_equal(from_cli, from_api)


def test_a_device_typo_on_the_command_line_is_a_usage_error(
    cli_env: Path, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--device gpu` used to warn and run on the CPU: minutes of work on the wrong device."""
    with pytest.raises(SystemExit) as exited:
        run_cli(str(photo), "--device", "gpu")
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "'gpu' is not a device: use auto, cuda, cuda:N, mps or cpu" in err
    assert not photo.with_name("face_x4.png").exists()


def test_a_png_gamma_chunk_reaches_the_result(cli_env: Path, tiny: Path, tmp_path: Path) -> None:
    """As through the API: a PNG tagged gAMA 1/1.8 (no iCCP) gives a result that browsers show alike."""
    tagged = tmp_path / "mac.png"
    data = tiny.read_bytes()  # Pillow writes no gAMA: it is added by hand
    chunk = struct.pack(">I", 55556)
    gama = struct.pack(">I", 4) + b"gAMA" + chunk + struct.pack(">I", zlib.crc32(b"gAMA" + chunk))
    tagged.write_bytes(data[:33] + gama + data[33:])  # 8-byte signature + 25-byte IHDR, then gAMA
    out = tmp_path / "out.png"
    assert run_cli(str(tagged), "-o", str(out)) == 0
    with Image.open(out) as result:
        assert result.info.get("gamma") == pytest.approx(0.55556)
