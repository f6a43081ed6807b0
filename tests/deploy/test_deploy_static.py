"""Static checks of what a Docker engine or a GPU host would otherwise find only at deploy time:
.dockerignore against the build contexts, the Dockerfiles' COPY/CMD/HEALTHCHECK/VOLUME, the base
image's torch, compose volumes and stop periods, and the systemd unit's writable paths and devices.
(No Docker engine runs here: an image is never built, so these read the files as Docker would.)"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from deploy_helpers import REPO, find_tool

# ----------------------------------------------------------------------------- helpers


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, rest) pairs of a Dockerfile, continuation lines joined, comments dropped."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip().startswith("#"):
            lines.append(line)
    text = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Docker (moby/patternmatcher) reads it: relative to the context
    root, `*` and `?` stay within one path element, `**` spans any number of them."""
    pattern = pattern.strip().strip("/")
    while pattern.startswith("./"):
        pattern = pattern[2:]
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


class DockerIgnore:
    def __init__(self, context: Path) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        path = context / ".dockerignore"
        for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
            line = line.strip()
            if line and not line.startswith("#"):
                negate = line.startswith("!")
                self.rules.append((negate, _pattern_regex(line.lstrip("!"))))

    def excluded(self, relpath: str) -> bool:
        """True when Docker leaves the file out of the context: the last rule that matches the path
        or one of its parent folders decides."""
        parts = relpath.strip("/").split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        result = False
        for negate, regex in self.rules:
            if any(regex.fullmatch(p) for p in prefixes):
                result = not negate
        return result


def _tracked(context: Path) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--", "."], cwd=context, capture_output=True, text=True, check=True
    ).stdout
    return [p for p in out.split("\0") if p]


def _git_ignored(paths: list[str]) -> set[str]:
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        cwd=REPO,
        input="\n".join(paths),
        capture_output=True,
        text=True,
    )
    return set(done.stdout.split())


BACKEND = REPO / "backend"
FRONTEND = REPO / "frontend"
BACKEND_DOCKERFILE = BACKEND / "Dockerfile.gpu"
FRONTEND_DOCKERFILE = FRONTEND / "Dockerfile"
UNIT = REPO / "deploy/systemd/inpaint-backend.service"


def test_dockerignore_matcher_follows_docker_rules() -> None:
    ignore = DockerIgnore.__new__(DockerIgnore)
    ignore.rules = [(False, _pattern_regex(p)) for p in ("weights/", "*.pth", "**/__pycache__", "models/native/*.so")]
    assert ignore.excluded("weights/bundled/x.safetensors")
    assert ignore.excluded("a.pth") and not ignore.excluded("models/a.pth")  # `*` is root-only in Docker
    assert ignore.excluded("models/__pycache__/x.pyc") and ignore.excluded("__pycache__/x.pyc")
    assert ignore.excluded("models/native/winograd-0.so") and not ignore.excluded("models/native/winograd.c")


# ----------------------------------------------------------------------------- build contexts


# Build artifacts that appear in a working checkout (git ignores them all): none may reach an image.
ARTIFACTS = {
    BACKEND: [
        "venv/bin/python",
        ".venv/bin/python",
        "weights/bundled/REALESRGAN_X4PLUS_UP4X.safetensors",
        "weights/jobs/gpu0.0123.png",
        "weights/onnx/realesr-animevideov3.onnx",
        "__pycache__/settings.cpython-311.pyc",
        "models/__pycache__/manager.cpython-311.pyc",
        # The CPU Winograd kernels, built beside their source on the developer's machine
        # (another glibc, another OS): the image must build its own.
        "models/native/winograd-0123456789abcdef.so",
        "models/native/winograd-0123456789abcdef.so.part",
        ".env",
    ],
    FRONTEND: ["node_modules/vite/package.json", "dist/index.html", "test-artifacts/x.png", ".env"],
}


@pytest.mark.parametrize("context", [BACKEND, FRONTEND], ids=["backend", "frontend"])
def test_build_artifacts_stay_out_of_the_image(context: Path) -> None:
    ignore = DockerIgnore(context)
    samples = ARTIFACTS[context]
    rel = context.relative_to(REPO).as_posix()
    # Whatever git ignores in this checkout right now counts too (e.g. a locally built .so).
    found = subprocess.run(
        ["git", "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--", "."],
        cwd=context,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    present = [p for p in found.split("\0") if p]
    assert _git_ignored([f"{rel}/{p}" for p in samples]) == {f"{rel}/{p}" for p in samples}, "not build artifacts?"
    leaked = [p for p in samples + present if not ignore.excluded(p)]
    assert not leaked, f"{rel}/.dockerignore lets these into the image: {leaked}"


@pytest.mark.parametrize(
    ("context", "dockerfile"),
    [(BACKEND, BACKEND_DOCKERFILE), (FRONTEND, FRONTEND_DOCKERFILE)],
    ids=["backend", "frontend"],
)
def test_tracked_sources_and_copy_sources_are_in_the_context(context: Path, dockerfile: Path) -> None:
    ignore = DockerIgnore(context)
    dropped = [p for p in _tracked(context) if ignore.excluded(p) and p not in (".dockerignore", dockerfile.name)]
    assert not dropped, f"tracked files that .dockerignore keeps out of the image: {dropped}"
    for word, rest in _instructions(dockerfile):
        if word in ("COPY", "ADD") and "--from=" not in rest:
            for source in [p for p in rest.split() if not p.startswith("--")][:-1]:
                assert (context / source).exists(), f"COPY {source}: not in the build context"
                if source not in (".", "./"):
                    assert not ignore.excluded(source), f"COPY {source}: excluded by .dockerignore"


# ----------------------------------------------------------------------------- backend Dockerfile


def _env(ins: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in ins:
        if word == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def _image_path_to_context(ins: list[tuple[str, str]], image_path: str) -> str | None:
    """The context-relative file behind an absolute image path, through `COPY . <dest>`."""
    for word, rest in ins:
        parts = [p for p in rest.split() if not p.startswith("--")]
        if word == "COPY" and "--from=" not in rest and parts[:-1] == ["."]:
            dest = parts[-1].rstrip("/")
            if image_path.startswith(dest + "/"):
                return image_path[len(dest) + 1 :]
    return None


def test_backend_cmd_runs_a_file_that_the_image_holds() -> None:
    ins = _instructions(BACKEND_DOCKERFILE)
    workdir = [rest for word, rest in ins if word == "WORKDIR"][-1]
    cmd = yaml.safe_load([rest for word, rest in ins if word == "CMD"][-1])
    assert isinstance(cmd, list), "exec form: the server is PID 1 and gets SIGTERM itself (no sh -c)"
    assert not any(w in ("sh", "bash", "/bin/sh") for w in cmd)
    assert not [rest for word, rest in ins if word == "ENTRYPOINT"], "no wrapper in front of the server"
    stop = [rest for word, rest in ins if word == "STOPSIGNAL"]
    assert stop in ([], ["SIGTERM"]), "the server shuts down gracefully on SIGTERM"
    script = cmd[1] if cmd[0].startswith("python") else None
    assert script, cmd
    relative = _image_path_to_context(ins, f"{workdir}/{script}")
    assert relative and (BACKEND / relative).is_file() and not DockerIgnore(BACKEND).excluded(relative)


def test_backend_healthcheck_uses_a_tool_and_a_route_that_exist() -> None:
    from backend.api.routes import system

    ins = _instructions(BACKEND_DOCKERFILE)
    health = next(rest for word, rest in ins if word == "HEALTHCHECK")
    command = health.split(" CMD ", 1)[1].strip()
    tool = shlex.split(command)[0]
    installed = " ".join(rest for word, rest in ins if word == "RUN" and "install" in rest)
    # The PyTorch runtime images have python but neither curl nor wget.
    assert tool == "python" or re.search(rf"\b{tool}\b", installed), f"HEALTHCHECK runs {tool}, not in the image"
    route = re.search(r"/api/[a-z/]+", command).group(0)
    paths = {system.public.prefix + r.path for r in system.public.routes} | {r.path for r in system.public.routes}
    assert route in paths, f"HEALTHCHECK asks {route}, which the backend does not serve"
    assert "'healthy'" in command  # Health.status once the model is warm


def test_backend_base_image_ships_a_torch_that_reads_pth_files_safely() -> None:
    """README (security notes): torch < 2.6 can run code from a crafted .pth (CVE-2025-32434).
    The image keeps its base image's torch, so the base decides; the same for the documented
    alternative for older drivers (CUDA 11.8, driver 450+)."""
    text = BACKEND_DOCKERFILE.read_text(encoding="utf-8")
    default = re.search(r"^ARG BASE_IMAGE=(\S+)$", text, re.M).group(1)
    tags = set(re.findall(r"pytorch/pytorch:([\w.-]*\w)", text))
    assert default.startswith("pytorch/pytorch:") and default.split(":", 1)[1] in tags
    cudas = set()
    for tag in tags:
        match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)-cuda(\d+\.\d+)-cudnn\d+-runtime", tag)
        assert match, f"{tag}: a pytorch/pytorch <torch>-cuda<ver>-cudnn<N>-runtime tag"
        assert (int(match.group(1)), int(match.group(2))) >= (2, 6), f"{tag}: torch < 2.6"
        cudas.add(match.group(4))
    assert "11.8" in cudas, "an alternative for the guide's CUDA 11.8 / driver 450+"


def test_backend_keeps_the_base_images_torch() -> None:
    """No requirement may replace the base's CUDA torch with another build (another CUDA, or a
    multi-GB download); and a base without torch must fail the build, not pull one from PyPI."""
    ins = _instructions(BACKEND_DOCKERFILE)
    install = next(rest for word, rest in ins if word == "RUN" and "requirements.txt" in rest)
    assert re.search(r"-c /tmp/torch-pins\.txt", install)
    assert re.search(r"grep -q ['\"]?\^torch==", install), "fail the build when the base image has no torch"


def test_backend_writable_dirs_are_volumes_owned_by_the_user() -> None:
    ins = _instructions(BACKEND_DOCKERFILE)
    env = _env(ins)
    volumes = set()
    for word, rest in ins:
        if word == "VOLUME":
            volumes |= set(yaml.safe_load(rest) if rest.startswith("[") else rest.split())
    user = [rest for word, rest in ins if word == "USER"][-1]
    assert user not in ("root", "0")
    setup = " ".join(rest for word, rest in ins if word == "RUN" and "chown" in rest)
    for key in ("MODELS_DIR", "JOBS_DIR", "TORCHINDUCTOR_CACHE_DIR"):
        path = env[key]
        assert any(path == v or path.startswith(v + "/") for v in volumes), f"{key}={path} is not on a volume"
        top = "/" + path.split("/")[1]
        assert f"chown -R {user}:{user} {top}" in setup or f"chown -R {user}:{user} {path}" in setup


# ----------------------------------------------------------------------------- compose


def _compose(name: str) -> dict:
    return yaml.safe_load((REPO / name).read_text(encoding="utf-8"))


def _backends(config: dict) -> dict[str, dict]:
    return {n: s for n, s in config["services"].items() if n == "backend" or n.startswith("backend-gpu-")}


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m)", str(value))
    number, unit = int(match.group(1)), match.group(2)
    return number / 1000 if unit == "ms" else number * (60 if unit == "m" else 1)


@pytest.mark.parametrize("compose_file", ["docker-compose.gpu.yml", "docker-compose.multi-gpu.yml"])
def test_compose_backends_keep_job_results_on_their_own_volume(compose_file: str) -> None:
    config = _compose(compose_file)
    jobs_volumes = []
    for name, service in _backends(config).items():
        env = service["environment"]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
        assert env["JOBS_DIR"] in mounts, f"{name}: JOBS_DIR {env['JOBS_DIR']} is in the container layer"
        assert env["MODELS_DIR"] in mounts
        jobs_volumes.append(mounts[env["JOBS_DIR"]])
        for source in mounts.values():
            assert source in config["volumes"], f"{name}: volume {source} is not declared"
    # Each replica reaps and caps its own results: they must not share one folder.
    assert len(set(jobs_volumes)) == len(jobs_volumes)


@pytest.mark.parametrize("compose_file", ["docker-compose.gpu.yml", "docker-compose.multi-gpu.yml"])
def test_compose_stop_grace_outlasts_the_graceful_shutdown(compose_file: str) -> None:
    from backend import api_server
    from backend.settings import Settings

    needed = Settings.model_fields["shutdown_timeout"].default + api_server._GRACEFUL_BACKSTOP_SECONDS
    for name, service in _backends(_compose(compose_file)).items():
        assert _seconds(service["stop_grace_period"]) > needed, name


# ----------------------------------------------------------------------------- systemd


def _unit() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for key, value in re.findall(r"^(\w+)=(.*)$", UNIT.read_text(encoding="utf-8"), re.M):
        settings.setdefault(key, []).append(value)
    return settings


def test_systemd_unit_does_not_fence_off_the_gpu() -> None:
    """ProtectClock=yes implies DeviceAllow=char-rtc r; before systemd 253 (Ubuntu 22.04 has 249,
    Debian 11 has 247) that allow-list closes every other device, /dev/nvidia* included, and the
    service falls back to the CPU (systemd#18142, fixed by systemd#25075). CapabilityBoundingSet=
    (empty) already takes CAP_SYS_TIME away."""
    unit = _unit()
    for key in ("ProtectClock", "PrivateDevices", "DevicePolicy"):
        assert key not in unit, f"{key}= restricts devices: CUDA needs /dev/nvidia*"
    for allow in unit.get("DeviceAllow", []):
        pytest.fail(f"DeviceAllow={allow} closes every other device")
    assert unit["CapabilityBoundingSet"] == [""]


def test_systemd_unit_loads_nvidia_uvm_before_the_sandbox() -> None:
    """CUDA needs /dev/nvidia-uvm. Where nothing loaded nvidia-uvm at boot, CUDA's first user loads it
    through the setuid nvidia-modprobe, which NoNewPrivileges=, the empty CapabilityBoundingSet= and
    ProtectKernelModules= forbid: the service, started at boot, would run on the CPU. A `+` command
    runs outside the sandbox, as root; `-` lets hosts without an NVIDIA driver start the service."""
    unit = _unit()
    assert {"NoNewPrivileges": ["yes"], "ProtectKernelModules": ["yes"]}.items() <= unit.items()
    loaders = [cmd for cmd in unit.get("ExecStartPre", []) if "nvidia-modprobe" in cmd]
    assert loaders, "ExecStartPre= must load nvidia-uvm (nvidia-modprobe -u) before the sandboxed service"
    prefix, _, arguments = loaders[0].partition(" ")
    assert set(prefix.removesuffix("/usr/bin/nvidia-modprobe")) == {"-", "+"}, prefix
    assert "-u" in arguments.split()


def test_systemd_unit_can_write_everywhere_the_service_writes() -> None:
    from backend.settings import Settings

    unit = _unit()
    env = dict(item.split("=", 1) for item in unit["Environment"])
    writable = [*unit["ReadWritePaths"][0].split()]
    writable += [f"/var/cache/{d}" for d in unit.get("CacheDirectory", [])]
    writable += [f"/var/lib/{d}" for d in unit.get("StateDirectory", [])]

    def under(path: str) -> bool:
        return any(path == w or path.startswith(w.rstrip("/") + "/") for w in writable)

    root = "/opt/inpaint-web"
    defaults = Settings(_env_file=None)
    for field in ("models_dir", "jobs_dir"):  # the ONNX cache and the converted weights live in models_dir
        path = f"{root}/{Path(getattr(defaults, field)).relative_to(REPO).as_posix()}"
        assert under(path), f"{field.upper()} ({path}) is read-only under ProtectSystem=strict"
    # The Winograd kernels (~/.cache), CUDA's JIT cache (~/.nv), Triton (~/.triton) and torch's
    # compiled kernels: persistent and writable, not in www-data's home (/var/www, read-only).
    for key in ("HOME", "XDG_CACHE_HOME", "TORCHINDUCTOR_CACHE_DIR"):
        assert key in env and under(env[key]), f"{key} must point into a writable cache directory"
    assert unit["PrivateTmp"] == ["yes"]  # tempfile's spooled uploads
    # The log file of the guide: opened by systemd itself (as root, before the sandbox).
    assert unit["StandardOutput"] == ["append:/var/log/inpaint-backend.log"]
    assert unit["WorkingDirectory"] == [f"{root}/backend"]
    assert unit["ExecStart"][0].split()[0] == f"{root}/backend/venv/bin/python"
    assert (REPO / "backend" / unit["ExecStart"][0].split()[1]).is_file()
    assert unit["EnvironmentFile"] == [f"-{root}/.env"]  # where backend/settings.py reads .env too


def test_systemd_stop_timeout_outlasts_the_graceful_shutdown() -> None:
    from backend import api_server
    from backend.settings import Settings

    needed = Settings.model_fields["shutdown_timeout"].default + api_server._GRACEFUL_BACKSTOP_SECONDS
    value = _unit()["TimeoutStopSec"][0]
    assert _seconds(value + "s" if value.isdigit() else value) > needed


def test_the_log_file_is_rotated_in_place() -> None:
    """systemd holds the log file open: a rotation must copy and truncate it, not move it away."""
    log = _unit()["StandardOutput"][0].removeprefix("append:")
    rotate = (REPO / "deploy/logrotate/inpaint-backend").read_text(encoding="utf-8")
    assert re.search(rf"^{re.escape(log)} \{{", rotate, re.M)
    assert re.search(r"^\s+copytruncate$", rotate, re.M)
    assert "deploy/logrotate/inpaint-backend" in UNIT.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- compose secrets


@pytest.mark.parametrize("compose_file", ["docker-compose.gpu.yml", "docker-compose.multi-gpu.yml"])
def test_backend_secrets_stay_out_of_the_frontend_container(tmp_path: Path, compose_file: str) -> None:
    """The frontend container only writes VITE_* into config.json: .env's API_KEYS (and the rest of
    the backend's settings) must not land in its environment (`docker inspect` shows it)."""
    compose = find_tool("docker-compose")
    for name in ("backend", "frontend", "deploy"):
        (tmp_path / name).symlink_to(REPO / name)
    shutil.copy(REPO / compose_file, tmp_path / compose_file)
    env = (REPO / ".env.example").read_text(encoding="utf-8")
    (tmp_path / ".env").write_text(env + "API_KEYS=s3cret\nVITE_UPSCALE_MODE=auto\n", encoding="utf-8")
    done = subprocess.run(
        [compose, "-f", compose_file, "config"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    frontend = services["frontend"]["environment"]
    assert "API_KEYS" not in frontend and "s3cret" not in str(services["frontend"])
    assert frontend["VITE_UPSCALE_MODE"] == "auto" and frontend["VITE_API_URL"] in ("", None)
    for name, service in _backends({"services": services}).items():
        assert service["environment"]["API_KEYS"] == "s3cret", name  # env_file still feeds the backends


# ----------------------------------------------------------------------------- nginx timeouts


def _location(conf: str, head: str) -> str:
    start = conf.index(head)
    return conf[start : conf.index("}", start)]


def _directive(block: str, name: str) -> str | None:
    match = re.search(rf"^\s*{name}\s+([^;]+);", block, re.M)
    return match.group(1) if match else None


@pytest.mark.parametrize(
    "site", ["deploy/nginx/inpaint-web.conf", "deploy/nginx/multi-gpu.conf", "frontend/nginx/default.conf.template"]
)
def test_batch_requests_get_time_for_every_file(site: str) -> None:
    """POST /api/upscale-batch answers only after its last file. The guide's own figures for a
    GTX 1070 (2048² input in 18-25 s) make a full batch of the largest inputs take
    max_batch_files x (max_input_pixels / 2048²) x 25 s; nginx must not cut it off with a 504 while
    the GPU keeps working."""
    from backend.settings import Settings

    settings = Settings(_env_file=None)
    per_file = settings.max_input_pixels / 2048**2 * 25
    needed = settings.max_batch_files * per_file
    conf = (REPO / site).read_text(encoding="utf-8")
    batch = _location(conf, "location = /api/upscale-batch")
    timeout = _directive(batch, "proxy_read_timeout")
    assert timeout, f"{site}: the batch location inherits the 300 s read timeout"
    assert _seconds(timeout) >= needed, f"{site}: {timeout} < {needed:.0f} s"
    # The body limit: every file at MAX_UPLOAD_MB, plus the multipart slack the backend allows.
    from backend import api_server

    body = _directive(batch, "client_max_body_size")
    limit_mb = int(body.rstrip("m"))
    slack = api_server._MULTIPART_SLACK_BYTES
    assert limit_mb * 2**20 >= settings.max_batch_files * settings.max_upload_mb * 2**20 + slack
    single = _directive(conf, "client_max_body_size")  # the server-level one comes first
    assert int(single.rstrip("m")) * 2**20 >= settings.max_upload_mb * 2**20 + slack
