"""Shared helpers for the deployment checks: locating tools, rendering configs, running nginx."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILES = ["docker-compose.gpu.yml", "docker-compose.multi-gpu.yml"]
MIME_TYPES = Path("/etc/nginx/mime.types")


def tools_required() -> bool:
    """scripts/test.sh and CI install every tool, so a missing one is a failure there."""
    return os.environ.get("REQUIRE_DEPLOY_TOOLS") == "1" or os.environ.get("CI", "").lower() == "true"


def find_tool(name: str) -> str:
    """Path of a tool; skips the test (fails under test.sh/CI) when it is not installed."""
    path = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name) if p.is_file()), None
    )
    if path is None:
        message = f"{name} is not installed (bash scripts/setup.sh --test installs it)"
        if tools_required():
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def nginx_main_conf(tmp: Path, site: Path) -> Path:
    """A throwaway nginx.conf around a site file (which holds server/upstream/map blocks), the
    way /etc/nginx/nginx.conf and the nginx image include conf.d/*.conf inside http {}."""
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / sub).mkdir(exist_ok=True)
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log notice;
events {{ worker_connections 128; }}
http {{
    include {MIME_TYPES};
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {site};
}}
"""
    )
    return conf


def nginx_test(nginx: str, tmp: Path, site: Path) -> subprocess.CompletedProcess[str]:
    conf = nginx_main_conf(tmp, site)
    return subprocess.run(
        [nginx, "-t", "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
    )


class NginxProcess:
    """nginx in the foreground on a loopback port, for the duration of a test."""

    def __init__(self, nginx: str, tmp: Path, site: Path, port: int) -> None:
        self.port = port
        conf = nginx_main_conf(tmp, site)
        self.log = tmp / "error.log"
        self.proc = subprocess.Popen(
            [nginx, "-p", str(tmp), "-e", str(self.log), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for_port(port)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"nginx did not start: {self.proc.stderr.read() if self.proc.stderr else ''}") from None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
