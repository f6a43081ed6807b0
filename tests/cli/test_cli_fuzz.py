"""A property-based fuzz of the `upscale` command line: bad input is a non-zero exit with a message.

Hypothesis builds argv lists from a grammar of the real options (build_parser in backend/cli/args.py):
each option with valid values, invalid ones (zero, negative, huge, nan, inf, empty, non-numeric,
unicode, very long), a missing value, repeats, unknown options and `--`, mixed with inputs (images,
a folder, globs with and without matches, a non-image, a missing path, names with spaces and
unicode) and outputs (`-o` to a file, a folder, an existing file, a missing folder, a place that
cannot be written). Each line runs in-process in a fresh copy of a small tree of 16x16-ish images,
with the bundled animevideov3 model and tiny custom weights. For every example:

- main returns (or argparse exits with) 0, 1 or 2, and nothing else escapes;
- stderr never holds a traceback, and a non-zero exit always says something there;
- exit 2 (usage) changes no file; no run leaves a temp file; only the targets it reports (`ok:`)
  are created or changed;
- exit 0 means every input was upscaled or skipped, and each result decodes with Pillow at
  round(W*s) x round(H*s) in the format of its suffix.

CLI_FUZZ_EXAMPLES=2000 runs a longer, randomized exploratory pass.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image
from skimage import data as skdata

from backend import cli
from backend.service.limits import output_size
from backend.settings import get_settings

EXPLORE = os.environ.get("CLI_FUZZ_EXAMPLES")
EXAMPLES = int(EXPLORE) if EXPLORE else 150

FAST_MODEL = "realesr-animevideov3"  # bundled, the default model here
NATIVE_SCALES = {FAST_MODEL: 4, "tiny2x": 2, "realesr-general-x4v3": 4}
IS_ROOT = os.geteuid() == 0
LONG_NAME = "x" * 300  # longer than NAME_MAX (255)
ROOT = "@ROOT@"  # replaced by the example's folder: the same names as absolute paths

# The tree each example runs in (a fresh copy, as its working directory).
IMAGES = {  # path: (crop of the astronaut photo, Pillow mode)
    "a.png": ((80, 96, 200, 216), "RGB"),  # 16x16
    "sp ä ce.png": ((80, 91, 200, 213), "RGB"),  # 13x11: odd sizes make x.5 products for rounding
    "-dash.png": ((80, 88, 200, 210), "RGB"),
    "[b].png": ((80, 92, 200, 212), "RGB"),  # glob characters in a real name
    "existing.png": ((0, 5, 0, 5), "RGB"),  # an earlier result in the way of `-o existing.png`
    "imgs/c.png": ((60, 71, 180, 193), "RGB"),
    "imgs/g.png": ((60, 67, 180, 189), "L"),  # 9x7 gray
    "imgs/t.webp": ((60, 74, 180, 190), "RGBA"),  # 10x14 with alpha
    "imgs/c_x4.png": ((60, 104, 180, 232), "RGB"),  # named like a result: scans leave it out
    "ro/r.png": ((80, 96, 200, 216), "RGB"),
}
TEXT_FILES = {
    "notes.txt": "not an image",
    "fake.png": "not a png either",
    "existing.jpg": "old result",
    "imgs/notes.txt": "not an image",
}
FOLDERS = ("empty", "outdir", "a_x2.png")  # a_x2.png: a folder where `a.png -s 2` wants its result
LINKS = {"loop.png": "loop.png", "dangling.png": "missing.png", "link.png": "a.png"}


def make_weights(path: Path, scale: int, seed: int) -> None:
    """Tiny random SRVGGNetCompact weights in the official `params_ema` layout."""
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(seed)
    net = Compact(num_feat=8, num_conv=2, upscale=scale)
    torch.save({"params_ema": net.state_dict()}, path)


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory, shared_models_dir: Path) -> Iterator[Path]:
    """MODELS_DIR with tiny weights (and the shared bundle cache), and the template tree."""
    models = tmp_path_factory.mktemp("fuzz_models")
    (shared_models_dir / "bundled").mkdir(exist_ok=True)
    (models / "bundled").symlink_to(shared_models_dir / "bundled")  # convert the bundled model once
    make_weights(models / "tiny2x.pth", 2, 0)  # a custom model: its scale is known once loaded
    make_weights(models / "realesr-general-x4v3.pth", 4, 1)  # official names, so --denoise-strength works
    make_weights(models / "realesr-general-wdn-x4v3.pth", 4, 2)
    (models / "broken.pth").write_bytes(b"not weights at all")

    template = tmp_path_factory.mktemp("fuzz_template")
    photo = skdata.astronaut()
    for name, ((top, bottom, left, right), mode) in IMAGES.items():
        path = template / name
        path.parent.mkdir(exist_ok=True)
        crop = photo[top:bottom, left:right]
        if mode == "RGBA":
            crop = np.dstack([crop, np.full(crop.shape[:2], 128, np.uint8)])
        Image.fromarray(crop).convert(mode).save(path)
    for name, text in TEXT_FILES.items():
        (template / name).write_text(text)
    for name in FOLDERS:
        (template / name).mkdir()
    for name, target in LINKS.items():
        (template / name).symlink_to(target)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELS_DIR", str(models))
        mp.setenv("DEVICE", "cpu")
        mp.setenv("WARMUP", "false")
        mp.setenv("DEFAULT_MODEL", FAST_MODEL)
        get_settings.cache_clear()
        yield template
    get_settings.cache_clear()


# --- the grammar -------------------------------------------------------------------------------


def pick(*values: str) -> st.SearchStrategy[str]:
    return st.sampled_from(values)


unicode_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
long_digits = pick("9" * 400, "9" * 5000, "1" + "0" * 30)
odd_text = st.one_of(pick("", " ", "abc", "nan", "inf", "-inf", "1e309", "٣", "٣٢", "1_5", "0x2", "2,5"), unicode_text)

# Each option: (its spellings, valid values, invalid values).
WITH_VALUE = {
    "scale": (
        ("-s", "--scale"),
        st.one_of(
            pick("1", "1.5", "2", "2.5", "3.5", "4", "8", "1.04545", " 2 ", "2e0"),
            st.floats(1, 8).map(lambda f: f"{f:.6g}"),
        ),
        st.one_of(pick("0", "-1", "0.5", "0.999", "8.0001", "9", "1e9", "-0"), long_digits, odd_text),
    ),
    "tile": (
        ("-t", "--tile"),
        pick("0", "32", "33", "47", "64", "4096", " 40", "+32"),
        st.one_of(pick("-1", "1", "8", "31", "4097", "1e3", "32.0", str(2**64), "-0x1"), long_digits, odd_text),
    ),
    "quality": (
        ("-q", "--quality"),
        pick("1", "50", "95", "100", "007"),
        st.one_of(pick("0", "101", "-5", "50.5", "1e2"), long_digits, odd_text),
    ),
    "format": (("-f", "--format"), pick("png", "jpeg", "webp"), pick("jpg", "PNG", "gif", "", "png ", "jpeg\n")),
    "model": (
        ("-m", "--model"),
        pick(FAST_MODEL, "tiny2x"),
        st.one_of(
            pick(
                "",
                "nope",
                "../tiny2x",
                "tiny2x.pth",
                "broken",  # a custom weights file that is not weights
                "RealESRGAN_x2plus",  # official, not offline
                "realesr-general-x4v3",
                "a" * 200,
                "módel",
                "-m",
            ),
            unicode_text,
        ),
    ),
    "device": (
        ("--device",),
        pick("cpu", "CPU", " cpu ", "auto"),
        pick("", "gpu", "cuda:x", "cuda:-1", "cuda:", "tpu", "ç"),
    ),
    # Valid only with -m realesr-general-x4v3, which the tame lines pick when they use it.
    "denoise": (
        ("--denoise-strength",),
        pick("0", "0.5", "1", "0.333"),
        pick("-0.1", "1.1", "nan", "inf", "", "x", "1e-400"),
    ),
}

GOOD_INPUTS = (
    "a.png",
    "sp ä ce.png",
    "imgs",
    "imgs/",
    "imgs/*.png",
    "imgs/*",
    "*.png",
    "imgs/**",
    "imgs/c_x4.png",  # a result named explicitly: upscaled
    "./-dash.png",
    "[b].png",
    "link.png",  # the same image as a.png
    "ro/r.png",  # in a folder that cannot be written (when not root)
)
BAD_INPUTS = (
    "imgs/*.gif",  # a glob without matches
    "notes.txt",
    "fake.png",
    "missing.png",
    "missing/",
    "empty",
    "ro",
    "~nosuchuser/x.png",
    LONG_NAME,
    "\udcff.png",  # a name that is not UTF-8, as Python gives it from argv
    "/dev/null",
    "-",
    "loop.png",  # a symlink loop
    "dangling.png",
    "",  # an unset variable: a usage error, not the current folder
)
GOOD_OUTPUTS = (
    "out.png",
    "out.jpg",
    "out.jpeg",
    "out.webp",
    "OUT.PNG",
    "out",
    "out/",
    "outdir",
    "outdir/",
    "existing.png",
    "missing/deep/o.png",
    "missing/deep/",
    "sp ä ce/o.webp",
)
BAD_OUTPUTS = (
    "out.xyz",
    "existing.jpg",  # an existing file that is not an image
    "notes.txt",
    "a.png",  # onto its own input
    "imgs/c.png",
    "notes.txt/o.png",  # under a file
    "ro/o.png",
    "/proc/nope/o.png",  # cannot be written even by root
    LONG_NAME + ".png",
    LONG_NAME + "/",
    "-",
    "loop.png",
    "loop.png/",
    "dangling.png",  # a link to a missing file
    "link.png",  # a link to an input
    "",  # an unset variable: a usage error, not the current folder
)
FLAGS = pick("--overwrite", "--skip-existing", "--no-progress", "--no-progress", "-v")
UNKNOWN = pick("--foo", "-x", "--over", "--s", "--sc", "---", "-sv", "-s2", "--scale=2", "-t=32", "--tile=", "-vv", "-")
RARE = pick("--version", "-h", "--help")


def absolute(paths: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """The name as typed, or as an absolute path in the example's folder."""
    return st.one_of(paths, paths.map(lambda p: f"{ROOT}/{p}"))


@st.composite
def argv_lines(draw: st.DrawFn) -> list[str]:
    """Half the lines are tame (valid values, real inputs) so that many get as far as an upscale."""
    tame = draw(st.booleans())

    def choose(good: st.SearchStrategy[str], bad: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return good if tame else st.one_of(good, good, bad)

    inputs = absolute(choose(pick(*GOOD_INPUTS), pick(*BAD_INPUTS)))
    chunks = [[draw(inputs)] for _ in range(draw(st.integers(1 if tame else 0, 3)))]
    for key in draw(st.lists(st.sampled_from(sorted(WITH_VALUE)), max_size=4)):
        spellings, good, bad = WITH_VALUE[key]
        flag = draw(st.sampled_from(spellings))
        value = draw(choose(good, bad))
        if key == "denoise" and tame:
            chunks.append(["-m", "realesr-general-x4v3"])
        if flag.startswith("--") and draw(st.integers(0, 3)) == 0:
            chunks.append([f"{flag}={value}"])
        else:
            chunks.append([flag, value])
    if draw(st.booleans()):
        output = absolute(choose(pick(*GOOD_OUTPUTS), pick(*BAD_OUTPUTS)))
        chunks.append([draw(st.sampled_from(("-o", "--output"))), draw(output)])
    chunks += [[f] for f in draw(st.lists(FLAGS, max_size=3))]
    if not tame:
        if draw(st.integers(0, 3)) == 0:
            chunks.append([draw(UNKNOWN)])
        if draw(st.integers(0, 15)) == 0:
            chunks.append([draw(RARE)])
    argv = [token for chunk in draw(st.permutations(chunks)) for token in chunk]
    if not tame and draw(st.integers(0, 3)) == 0:  # an option that lost its value
        argv.append(draw(st.sampled_from(("-s", "-t", "-q", "-f", "-m", "-o", "--device", "--denoise-strength"))))
    if draw(st.integers(0, 5)) == 0:
        argv.insert(draw(st.integers(0, len(argv))), "--")
    return argv


# --- one run and what must hold ----------------------------------------------------------------


def snapshot(root: Path) -> dict[str, str]:
    """Every file under root, by path, with a hash of its bytes (or where it links to)."""
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                files[path] = "link to " + os.readlink(path)
                continue
            with open(path, "rb") as fh:
                files[path] = hashlib.sha256(fh.read()).hexdigest()
    return files


def image_sizes(root: Path) -> dict[str, tuple[int, int]]:
    sizes = {}
    for name in IMAGES:
        sizes[os.path.realpath(root / name)] = Image.open(root / name).size
    return sizes


def parse(argv: list[str]) -> object | None:
    """The namespace main() will see, or None where argparse refuses the line."""
    parser = cli.build_parser()
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            return cli.parse_command_line(parser, argv)  # as main() parses
    except SystemExit:
        return None


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse: usage errors, --help, --version
            code = exc.code
        except Exception as exc:  # a traceback for the user
            pytest.fail(f"argv={argv!r} raised {exc!r}\nstderr={err.getvalue()[-2000:]!r}")
    return code, out.getvalue(), err.getvalue()


OK_LINE = re.compile(r"ok: (.*) -> (.*)")
SKIP_LINE = re.compile(r"skip: (.*) exists \(use --overwrite to replace it\)")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def said(pattern: re.Pattern[str], err: str) -> list:
    """The messages that match, with progress bars (cursor moves, carriage returns) taken out."""
    lines = re.split(r"[\r\n]", ANSI.sub("", err))
    return [
        m.groups() if len(m.groups()) > 1 else m.group(1)
        for m in (pattern.fullmatch(line.lstrip(" ")) for line in lines)
        if m
    ]


FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def check_run(root: Path, argv: list[str]) -> None:
    before = snapshot(root)
    sizes = image_sizes(root)
    args = parse(argv)
    planned = None
    if args is not None:
        with contextlib.suppress(Exception):  # if it raises, main will too, and fail the test below
            planned = cli.expand_inputs(args.inputs).files  # before main writes results next to them

    code, out, err = run_main(argv)
    event(f"exit {code}")  # pytest --hypothesis-show-statistics: how the lines ended
    context = f"argv={argv!r}\nexit={code!r}\nstdout={out[-2000:]!r}\nstderr={err[-2000:]!r}"

    assert isinstance(code, int) and code in (cli.EXIT_OK, cli.EXIT_FAILED, cli.EXIT_USAGE), context
    assert "Traceback" not in err and "Traceback" not in out, context
    if code != cli.EXIT_OK:
        assert err.strip(), context
    after = snapshot(root)
    assert not [p for p in after if os.path.basename(p).startswith(".") and p.endswith(".tmp")], context
    written = {os.path.realpath(root / target) for _, target in said(OK_LINE, err)}
    changed = {p for p in after if before.get(p) != after[p]}
    assert {os.path.realpath(p) for p in changed} <= written, context
    assert set(before) <= set(after), context  # nothing removed
    if code == cli.EXIT_USAGE:
        assert changed == set(), context
    if code != cli.EXIT_OK or args is None:  # a failed run, or --help / --version
        return

    assert planned is not None
    oks, skips = said(OK_LINE, err), said(SKIP_LINE, err)
    assert len(oks) + len(skips) == len(planned), context
    assert f"{len(oks)} upscaled, {len(skips)} skipped, 0 failed" in err, context
    for target in skips:
        assert (root / target).exists(), context
    model = args.model or FAST_MODEL
    scale = args.scale or NATIVE_SCALES[model]
    for source, target in oks:
        path = root / target
        with Image.open(path) as image:
            image.load()  # whole, not truncated
            width, height = sizes[os.path.realpath(root / source)]
            assert image.size == output_size(width, height, scale), context
            assert image.format == FORMATS[path.suffix.lower()], context


@contextlib.contextmanager
def example_folder(template: Path) -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="cli-fuzz-"))
    root = base / "run"
    shutil.copytree(template, root, symlinks=True)
    if not IS_ROOT:  # root writes anywhere: /proc/nope/o.png stands for the unwritable place then
        (root / "ro").chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with contextlib.chdir(root):
            yield root
    finally:
        (root / "ro").chmod(stat.S_IRWXU)
        shutil.rmtree(base)


@settings(
    max_examples=EXAMPLES,
    derandomize=not EXPLORE,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(argv=argv_lines())
def test_any_command_line_exits_cleanly(fuzz_env: Path, argv: list[str]) -> None:
    with example_folder(fuzz_env) as root:
        check_run(root, [arg.replace(ROOT, str(root)) for arg in argv])
