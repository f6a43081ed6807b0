"""Scripts, systemd unit, Dockerfiles, .env.example and requirements.txt: checked against the
tools (shellcheck, systemd-analyze) and against the code they describe (Settings, pyproject)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_helpers import REPO, find_tool
from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "dist", "weights", ".pytest_cache", ".ruff_cache"}


def _shell_scripts() -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(REPO):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        found += [Path(dirpath) / f for f in filenames if f.endswith(".sh")]
    return sorted(found) + [REPO / ".ci/run"]


# ----------------------------------------------------------------------------- guide promises

GUIDE_PATHS = [
    "backend/api_server.py",
    "backend/models/realesrgan_model.py",
    "backend/download_models.py",
    "backend/requirements.txt",
    "backend/run_mac.sh",
    "backend/Dockerfile.gpu",
    "docker-compose.gpu.yml",
    ".env.example",
    "deploy/nginx/inpaint-web.conf",
    "deploy/systemd/inpaint-backend.service",
    "scripts/setup.sh",
    "scripts/run.sh",
    "scripts/test.sh",
    ".ci/run",
]


@pytest.mark.parametrize("path", GUIDE_PATHS)
def test_promised_path_exists(path: str) -> None:
    assert (REPO / path).is_file(), f"{path} is promised by the guide or the README"


EXECUTABLES = ["backend/run_mac.sh", "scripts/setup.sh", "scripts/run.sh", "scripts/test.sh", ".ci/run"]


@pytest.mark.parametrize("path", EXECUTABLES)
def test_scripts_are_executable(path: str) -> None:
    assert os.access(REPO / path, os.X_OK), f"chmod +x {path}"


# ----------------------------------------------------------------------------- shellcheck


def test_shellcheck() -> None:
    shellcheck = find_tool("shellcheck")
    scripts = _shell_scripts()
    assert REPO / "scripts/setup.sh" in scripts
    result = subprocess.run(
        [shellcheck, "--severity=style", *map(str, scripts)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ----------------------------------------------------------------------------- systemd


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = find_tool("systemd-analyze")
    unit = (REPO / "deploy/systemd/inpaint-backend.service").read_text(encoding="utf-8")
    # systemd-analyze checks that ExecStart exists: give it the guide's layout under tmp_path.
    root = tmp_path / "opt"
    (root / "backend/venv/bin").mkdir(parents=True)
    (root / "backend/weights").mkdir()
    (root / "backend/venv/bin/python").symlink_to(sys.executable)
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    unit_file = unit_dir / "inpaint-backend.service"
    unit_file.write_text(unit.replace("/opt/inpaint-web", str(root)))
    result = subprocess.run([analyze, "verify", str(unit_file)], capture_output=True, text=True, timeout=60)
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if "inpaint-backend" in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


def test_systemd_unit_is_hardened() -> None:
    unit = (REPO / "deploy/systemd/inpaint-backend.service").read_text(encoding="utf-8")
    settings = dict(re.findall(r"^(\w+)=(.*)$", unit, re.M))
    assert settings["User"] not in ("", "root")
    assert settings["Restart"] == "always"
    assert settings["ExecStart"] == "/opt/inpaint-web/backend/venv/bin/python api_server.py"  # the guide's
    assert settings["WorkingDirectory"] == "/opt/inpaint-web/backend"
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes"}.items():
        assert settings[key] == value
    assert "LimitNOFILE" in settings and "MemoryMax" in settings
    assert "PrivateDevices" not in settings, "CUDA needs /dev/nvidia*"


# ----------------------------------------------------------------------------- .env.example


def _env_example() -> dict[str, str]:
    """KEY -> documented value, for `KEY=value` and commented `# KEY=value` lines."""
    entries = {}
    for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            entries[match.group(1)] = match.group(2).strip()
    return entries


FRONTEND_KEYS = {"VITE_API_URL", "VITE_UPSCALE_MODE"}


def test_env_example_documents_every_setting() -> None:
    from backend.settings import Settings

    documented = _env_example()
    fields = {name.upper() for name in Settings.model_fields}
    missing = sorted(fields - set(documented))
    assert not missing, f"add to .env.example: {missing}"
    unknown = sorted(set(documented) - fields - FRONTEND_KEYS)
    assert not unknown, f".env.example documents keys that Settings does not read: {unknown}"
    assert set(documented) >= FRONTEND_KEYS
    assert documented["VITE_UPSCALE_MODE"] in ("server", "browser", "auto")


def test_env_example_defaults_match_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A documented `# KEY=value` must be the real default (empty values are placeholders)."""
    from backend.settings import Settings

    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    defaults = Settings(_env_file=None)
    for key, value in _env_example().items():
        name = key.lower()
        if key in FRONTEND_KEYS or not value or name not in Settings.model_fields:
            continue
        documented = getattr(Settings(_env_file=None, **{name: value}), name)
        assert documented == getattr(defaults, name), f".env.example: {key}={value} is not the default"


def test_env_example_is_a_valid_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`cp .env.example .env` must give settings that load."""
    from backend.settings import Settings

    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    env_file = tmp_path / ".env"
    shutil.copy(REPO / ".env.example", env_file)
    Settings(_env_file=env_file)


# ----------------------------------------------------------------------------- requirements


def _normalized(lines: list[str]) -> set[tuple[str, frozenset[str], str, str]]:
    out = set()
    for line in lines:
        req = Requirement(line)
        out.add((re.sub(r"[-_.]+", "-", req.name).lower(), frozenset(req.extras), str(req.specifier), str(req.marker)))
    return out


def test_requirements_txt_matches_pyproject() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    declared = _normalized(pyproject["project"]["dependencies"])
    lines = [
        line.split("#", 1)[0].strip()
        for line in (REPO / "backend/requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.split("#", 1)[0].strip()
    ]
    assert _normalized(lines) == declared, "backend/requirements.txt must list pyproject's dependencies"


# ----------------------------------------------------------------------------- Dockerfiles


def _instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _copy_sources(instructions: list[tuple[str, str]]) -> list[str]:
    sources = []
    for word, rest in instructions:
        if word in ("COPY", "ADD"):
            parts = [p for p in rest.split() if not p.startswith("--")]
            if "--from=" not in rest:
                sources += parts[:-1]
    return sources


def test_backend_dockerfile() -> None:
    path = REPO / "backend/Dockerfile.gpu"
    ins = _instructions(path)
    words = [w for w, _ in ins]
    base = next(rest for w, rest in ins if w == "ARG" and rest.startswith("BASE_IMAGE="))
    assert "cuda" in base and "runtime" in base
    user = [rest for w, rest in ins if w == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert ("EXPOSE", "8000") in ins
    health = next(rest for w, rest in ins if w == "HEALTHCHECK")
    assert "/api/health" in health
    # The bundled weights are converted at build time, before the volume is declared.
    convert = next(i for i, (w, rest) in enumerate(ins) if w == "RUN" and "download_models.py" in rest)
    assert convert < words.index("VOLUME")
    assert "/data/weights" in dict(ins)["VOLUME"]
    assert dict(ins)["CMD"] == '["python", "api_server.py"]'
    for source in _copy_sources(ins):
        assert (REPO / "backend" / source).exists(), f"COPY {source}: not in the build context backend/"
    ignored = (REPO / "backend/.dockerignore").read_text(encoding="utf-8").split()
    assert "weights/" in ignored and "venv/" in ignored


def test_frontend_dockerfile() -> None:
    path = REPO / "frontend/Dockerfile"
    ins = _instructions(path)
    froms = [rest for w, rest in ins if w == "FROM"]
    assert len(froms) == 2 and froms[0].startswith("node:") and froms[1].startswith("nginx:")
    assert ("EXPOSE", "3332") in ins
    assert any(w == "HEALTHCHECK" for w, _ in ins)
    for source in _copy_sources(ins):
        assert (REPO / "frontend" / source).exists(), f"COPY {source}: not in the build context frontend/"
    assert "node_modules" in (REPO / "frontend/.dockerignore").read_text(encoding="utf-8").split()
    copies = " ".join(rest for w, rest in ins if w == "COPY")
    assert "/etc/nginx/templates/" in copies and "/docker-entrypoint.d/" in copies
    # The nginx image's entrypoint skips scripts in /docker-entrypoint.d/ that are not executable.
    assert os.access(REPO / "frontend/nginx/40-write-config-json.sh", os.X_OK)


# ----------------------------------------------------------------------------- README


def test_readme_starts_with_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    run, test = readme.find("bash scripts/run.sh"), readme.find("bash scripts/test.sh")
    assert 0 <= run < test < readme.find("## ", readme.find("## ") + 1), "the two commands come first"


def test_readme_has_a_curl_example_for_every_endpoint() -> None:
    from backend.api_server import app

    readme = re.sub(r"\\\n\s*", " ", (REPO / "README.md").read_text(encoding="utf-8"))  # join continued lines
    curls = "\n".join(line for line in readme.splitlines() if "curl" in line)
    missing = []
    for path, operations in app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", r"[^\\s/?\"']+", re.escape(path)) + r"(?![\w/-])"
        for method in operations:
            found = [line for line in curls.splitlines() if re.search(pattern, line)]
            if method != "get":
                verb = f"-X {method.upper()}"
                found = [line for line in found if verb in line or (method == "post" and " -F " in line)]
            if not found:
                missing.append(f"{method.upper()} {path}")
    assert not missing, f"README: add curl examples for {missing}"


def test_readme_configuration_table_lists_every_setting() -> None:
    from backend.settings import Settings

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", readme, re.M))
    missing = sorted({name.upper() for name in Settings.model_fields} - rows)
    assert not missing, f"README configuration table: add {missing}"
    assert rows >= FRONTEND_KEYS


def test_readme_configuration_table_defaults_match_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A default written as `value` in the README table must be the real one (as .env.example's)."""
    from backend.settings import REPO_DIR, Settings

    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    defaults = Settings(_env_file=None)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \| `([^`]*)`", readme, re.M)
    checked = 0
    for key, value in rows:
        name = key.lower()
        if key in FRONTEND_KEYS or name not in Settings.model_fields:
            continue
        real = getattr(defaults, name)
        if isinstance(real, Path):  # written relative to the repository root
            real = real.relative_to(REPO_DIR)
            documented = Path(value)
        else:
            documented = getattr(Settings(_env_file=None, **{name: value}), name)
        assert documented == real, f"README configuration table: {key} default `{value}` is not {real!r}"
        checked += 1
    assert checked >= 30, "the README table's defaults were not found"


def test_readme_names_every_error_code_the_api_answers() -> None:
    """The API section's list of error codes covers every code an HTTP client can get."""
    from backend.api_server import app  # noqa: F401  (imports every route and its errors)
    from backend.errors import UpscaleError

    def subclasses(cls: type) -> list[type]:
        return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]

    not_http = {"backend.models.download"}  # download_models.py / CLI errors, never an HTTP answer
    internal = {"upscale_error", "bad_request", "unavailable", "cancelled"}  # bases; 499 = client gone
    codes = {c.code for c in subclasses(UpscaleError) if c.__module__ not in not_http} - internal
    codes |= {"validation_error", "cors_rejected", "internal_error", "not_found", "method_not_allowed"}
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    api = readme[readme.index("## API") : readme.index("```bash", readme.index("## API"))]
    missing = sorted(code for code in codes if f"`{code}`" not in api and f" {code}`" not in api)
    assert not missing, f"README (## API): name the error codes {missing}"
