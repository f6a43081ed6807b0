"""docker-compose files: valid for Compose (`config -q`) and shaped as the guide promises."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from deploy_helpers import COMPOSE_FILES, REPO, find_tool


def _project_copy(tmp_path: Path, compose_file: str) -> Path:
    """A project folder like a user's after `cp .env.example .env`, without touching the repo's .env."""
    for name in ("backend", "frontend", "deploy"):
        (tmp_path / name).symlink_to(REPO / name)
    shutil.copy(REPO / compose_file, tmp_path / compose_file)
    shutil.copy(REPO / ".env.example", tmp_path / ".env")
    return tmp_path


def _config(tmp_path: Path, compose_file: str, env_lines: str = "") -> dict:
    """The resolved config, with `env_lines` added to the copied .env."""
    compose = find_tool("docker-compose")
    project = _project_copy(tmp_path, compose_file)
    with (project / ".env").open("a", encoding="utf-8") as env:
        env.write(env_lines)
    quiet = subprocess.run(
        [compose, "-f", compose_file, "config", "-q"], cwd=project, capture_output=True, text=True, timeout=60
    )
    assert quiet.returncode == 0, quiet.stderr
    full = subprocess.run(
        [compose, "-f", compose_file, "config"], cwd=project, capture_output=True, text=True, timeout=60
    )
    assert full.returncode == 0, full.stderr
    return yaml.safe_load(full.stdout)


@pytest.mark.parametrize("compose_file", COMPOSE_FILES)
def test_compose_config_is_valid(tmp_path: Path, compose_file: str) -> None:
    config = _config(tmp_path, compose_file)
    assert config["services"]


def test_compose_v2_config_when_available(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker compose v2 plugin is not installed (checked with docker-compose v1 instead)")
    for compose_file in COMPOSE_FILES:
        project = tmp_path / compose_file.replace(".", "_")
        project.mkdir()
        _project_copy(project, compose_file)
        result = subprocess.run(
            [docker, "compose", "-f", compose_file, "config", "-q"], cwd=project, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr


def _port_mappings(service: dict) -> set[tuple[str, str, str]]:
    """(host address, published, target), from the short ("127.0.0.1:8000:8000") or the long syntax;
    the address '' means every interface."""
    mappings = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            mappings.add((str(port.get("host_ip", "")), str(port.get("published")), str(port.get("target"))))
        else:
            parts = str(port).split(":")
            mappings.add((parts[0] if len(parts) == 3 else "", parts[-2], parts[-1]))
    return mappings


def _ports(service: dict) -> set[tuple[str, str]]:
    """(published, target) pairs."""
    return {(published, target) for _, published, target in _port_mappings(service)}


def _volume_targets(service: dict) -> set[str]:
    targets = set()
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            targets.add(volume["target"])
        else:
            targets.add(str(volume).split(":")[1])
    return targets


def _check_backend(service: dict) -> None:
    assert service["build"]["dockerfile"] == "Dockerfile.gpu"
    assert Path(service["build"]["context"]).name == "backend"
    devices = service["deploy"]["resources"]["reservations"]["devices"]
    assert any("gpu" in d["capabilities"] and d["driver"] == "nvidia" for d in devices)
    assert service["restart"] in ("always", "unless-stopped")
    assert "/api/health" in " ".join(service["healthcheck"]["test"])
    assert "/data/weights" in _volume_targets(service)
    assert service["environment"]["MODELS_DIR"] == "/data/weights"


def test_gpu_compose_layout(tmp_path: Path) -> None:
    config = _config(tmp_path, "docker-compose.gpu.yml")
    services = config["services"]
    assert set(services) == {"backend", "frontend"}
    _check_backend(services["backend"])
    assert ("8000", "8000") in _ports(services["backend"])
    frontend = services["frontend"]
    assert ("3332", "3332") in _ports(frontend)
    assert frontend["environment"]["BACKEND_URL"] == "http://backend:8000"
    # env_file .env reaches the frontend, which writes config.json from it.
    assert "VITE_UPSCALE_MODE" in frontend["environment"]
    assert "weights" in config["volumes"]


def test_multi_gpu_compose_layout(tmp_path: Path) -> None:
    config = _config(tmp_path, "docker-compose.multi-gpu.yml")
    services = config["services"]
    backends = sorted(name for name in services if name.startswith("backend-gpu-"))
    assert len(backends) >= 2
    nginx_conf = (REPO / "deploy/nginx/multi-gpu.conf").read_text(encoding="utf-8")
    for name in backends:
        index = name.rsplit("-", 1)[1]
        service = services[name]
        _check_backend(service)
        env = service["environment"]
        assert env["CUDA_VISIBLE_DEVICES"] == index
        assert env["REPLICA_ID"] == f"gpu{index}"
        assert "ports" not in service, "replicas are reached through nginx only"
        # nginx balances over it and routes its jobs back to it.
        assert f"server {name}:8000" in nginx_conf
        assert f"~^/api/jobs/gpu{index}\\." in nginx_conf
    lb = services["nginx"]
    assert "/etc/nginx/conf.d/default.conf" in _volume_targets(lb)
    assert any("deploy/nginx/multi-gpu.conf" in str(v) for v in lb["volumes"])
    assert ("8000", "8000") in _ports(lb)
    assert services["frontend"]["environment"]["BACKEND_URL"] == "http://nginx:8000"


@pytest.mark.parametrize("compose_file", COMPOSE_FILES)
def test_ports_can_be_published_on_loopback_only(tmp_path: Path, compose_file: str) -> None:
    """README's security note: Docker's published ports pass by host firewalls such as ufw, so
    `BACKEND_PORT=127.0.0.1:8000` (and FRONTEND_PORT) in .env keeps them to the machine itself."""
    config = _config(tmp_path, compose_file, "BACKEND_PORT=127.0.0.1:8000\nFRONTEND_PORT=127.0.0.1:3332\n")
    published = [s for s in config["services"].values() if s.get("ports")]
    assert published
    for service in published:
        assert {address for address, _, _ in _port_mappings(service)} == {"127.0.0.1"}, service["ports"]
