"""Security settings of the nginx configs, tried with real requests through nginx.

A request from another host is simulated by a client bound to 127.0.0.2: still loopback, so
it reaches nginx on 127.0.0.1, but it is not the 127.0.0.1 that `allow` names.
"""

from __future__ import annotations

import http.client
from pathlib import Path

from deploy_helpers import NginxProcess, find_tool, free_port
from test_deploy_nginx import _write, render_host_site, render_multi_gpu


def _get(port: int, path: str, source: str = "127.0.0.1") -> tuple[int, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20, source_address=(source, 0))
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, {key.lower(): value for key, value in response.getheaders()}
    finally:
        conn.close()


def test_multi_gpu_balancer_keeps_metrics_off_its_published_port(tmp_path: Path, fake_backends) -> None:
    # Before: `location /` sent /metrics to a replica for anyone who reached :8000.
    gpu0, gpu1 = fake_backends
    port = free_port()
    site = _write(tmp_path, render_multi_gpu({"backend-gpu-0": gpu0.port, "backend-gpu-1": gpu1.port}, port))
    nginx = NginxProcess(find_tool("nginx"), tmp_path, site, port)
    try:
        for path in ("/metrics", "/metrics?x=1", "//metrics", "/api/../metrics"):
            status, _ = _get(port, path, source="127.0.0.2")
            assert status == 403, path
        assert _get(port, "/api/health", source="127.0.0.2")[0] == 200
        assert not any(path.startswith("/metrics") for _, path in gpu0.requests + gpu1.requests)
    finally:
        nginx.stop()


def test_host_site_keeps_metrics_local(tmp_path: Path, fake_backends) -> None:
    backend, frontend = fake_backends
    port = free_port()
    site = _write(tmp_path, render_host_site(backend.port, frontend.port, port))
    nginx = NginxProcess(find_tool("nginx"), tmp_path, site, port)
    try:
        for path in ("/metrics", "//metrics", "/api/../metrics"):
            assert _get(port, path, source="127.0.0.2")[0] == 403, path
        assert not any(path.startswith("/metrics") for _, path in backend.requests)
    finally:
        nginx.stop()


def test_nginx_version_is_not_announced(tmp_path: Path, fake_backends) -> None:
    # Before: "Server: nginx/1.22.1" on every answer, and the version on nginx's own error pages.
    gpu0, gpu1 = fake_backends
    for name, text in (
        ("host", render_host_site(gpu0.port, gpu1.port, free_port())),
        ("multi", render_multi_gpu({"backend-gpu-0": gpu0.port, "backend-gpu-1": gpu1.port}, free_port())),
    ):
        port = int(text.split("listen 127.0.0.1:", 1)[1].split(";", 1)[0])
        directory = tmp_path / name
        directory.mkdir()
        nginx = NginxProcess(find_tool("nginx"), directory, _write(directory, text), port)
        try:
            for path in ("/api/health", "/metrics"):
                _, headers = _get(port, path, source="127.0.0.2")
                assert headers.get("server") == "nginx", (name, path, headers.get("server"))
        finally:
            nginx.stop()
