"""nginx configs: `nginx -t` on each, then real requests through nginx to fake backends:
job routing by replica id, retry on 503, unbuffered SSE, MIME types, SPA fallback."""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from deploy_helpers import REPO, NginxProcess, find_tool, free_port, nginx_test

HOST_SITE = REPO / "deploy/nginx/inpaint-web.conf"
MULTI_GPU = REPO / "deploy/nginx/multi-gpu.conf"
FRONTEND_TEMPLATE = REPO / "frontend/nginx/default.conf.template"
CONFIG_SCRIPT = REPO / "frontend/nginx/40-write-config-json.sh"
JOB = "0123456789abcdef0123456789abcdef"


def _request(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _json(url: str, method: str = "GET") -> dict:
    import json

    status, _, body = _request(url, method, b"x" if method == "POST" else None)
    assert status == 200, (status, body)
    return json.loads(body)


# ----------------------------------------------------------------------------- rendering


def render_multi_gpu(ports: dict[str, int], listen: int) -> str:
    text = MULTI_GPU.read_text(encoding="utf-8")
    for service, port in ports.items():
        text = text.replace(f"{service}:8000", f"127.0.0.1:{port}")
    assert "backend-gpu-" not in re.sub(r"#.*", "", text), "a replica without a fake backend"
    return text.replace("listen 8000;", f"listen 127.0.0.1:{listen};")


def render_host_site(backend: int, frontend: int, listen: int) -> str:
    text = HOST_SITE.read_text(encoding="utf-8")
    text = text.replace("127.0.0.1:8000", f"127.0.0.1:{backend}").replace("127.0.0.1:3332", f"127.0.0.1:{frontend}")
    return text.replace("listen 80;", f"listen 127.0.0.1:{listen};")


def render_frontend(backend_url: str, html: Path, listen: int) -> str:
    """What the nginx image's entrypoint does: envsubst of the variables defined in its environment."""
    text = FRONTEND_TEMPLATE.read_text(encoding="utf-8")
    env = {"BACKEND_URL": backend_url, "NGINX_LOCAL_RESOLVERS": "127.0.0.1"}
    for name, value in env.items():
        text = text.replace("${" + name + "}", value)
    text = text.replace("root /usr/share/nginx/html;", f"root {html};")
    return text.replace("listen 3332;", f"listen 127.0.0.1:{listen};")


def _write(tmp_path: Path, text: str) -> Path:
    site = tmp_path / "site.conf"
    site.write_text(text)
    return site


# ----------------------------------------------------------------------------- nginx -t


def test_host_site_syntax(tmp_path: Path) -> None:
    result = nginx_test(find_tool("nginx"), tmp_path, _write(tmp_path, render_host_site(8000, 3332, 8080)))
    assert result.returncode == 0, result.stderr


def test_multi_gpu_syntax(tmp_path: Path) -> None:
    site = _write(tmp_path, render_multi_gpu({"backend-gpu-0": 8001, "backend-gpu-1": 8002}, 8000))
    result = nginx_test(find_tool("nginx"), tmp_path, site)
    assert result.returncode == 0, result.stderr


def test_frontend_template_syntax(tmp_path: Path) -> None:
    site = _write(tmp_path, render_frontend("http://backend:8000", tmp_path, 3332))
    result = nginx_test(find_tool("nginx"), tmp_path, site)
    assert result.returncode == 0, result.stderr


def test_frontend_template_only_substitutes_its_variables() -> None:
    """envsubst replaces every *defined* environment variable: nginx's own $variables must not
    collide with one (they are lower case), and the template's own are exactly these two."""
    text = FRONTEND_TEMPLATE.read_text(encoding="utf-8")
    braced = set(re.findall(r"\$\{(\w+)\}", text))
    assert braced == {"BACKEND_URL", "NGINX_LOCAL_RESOLVERS"}
    plain = set(re.findall(r"\$(\w+)", text))
    assert all(name.islower() or name.isdigit() for name in plain), plain


def test_sse_locations_are_unbuffered() -> None:
    for path in (HOST_SITE, MULTI_GPU, FRONTEND_TEMPLATE):
        text = path.read_text(encoding="utf-8")
        block = text[text.index("/events$") :]
        block = block[: block.index("}")]
        assert "proxy_buffering off;" in block, path
        assert re.search(r"proxy_read_timeout (\d+)s;", block), path


# ----------------------------------------------------------------------------- live routing


@pytest.fixture
def multi_gpu_nginx(tmp_path: Path, fake_backends):
    gpu0, gpu1 = fake_backends
    port = free_port()
    site = _write(tmp_path, render_multi_gpu({"backend-gpu-0": gpu0.port, "backend-gpu-1": gpu1.port}, port))
    proc = NginxProcess(find_tool("nginx"), tmp_path, site, port)
    try:
        yield proc, gpu0, gpu1
    finally:
        proc.stop()


def test_job_requests_reach_the_replica_that_holds_the_job(multi_gpu_nginx) -> None:
    nginx, gpu0, gpu1 = multi_gpu_nginx
    for _ in range(3):
        for replica in ("gpu0", "gpu1"):
            for suffix in ("", "/result"):
                got = _json(nginx.url(f"/api/jobs/{replica}.{JOB}{suffix}"))
                assert got["replica"] == replica
                assert got["path"] == f"/api/jobs/{replica}.{JOB}{suffix}"
            assert _json(nginx.url(f"/api/jobs/{replica}.{JOB}"), "DELETE")["replica"] == replica


def test_new_work_is_spread_and_retried_on_503(multi_gpu_nginx) -> None:
    nginx, gpu0, gpu1 = multi_gpu_nginx
    seen = {_json(nginx.url("/api/jobs"), "POST")["replica"] for _ in range(6)}
    assert seen == {"gpu0", "gpu1"}, "least_conn should use both replicas"

    gpu0.busy = True  # queue full on gpu0: its 503s are retried on gpu1
    for _ in range(4):
        assert _json(nginx.url("/api/jobs"), "POST")["replica"] == "gpu1"
        assert _json(nginx.url("/api/upscale"), "POST")["replica"] == "gpu1"

    gpu1.busy = True  # both full: the client gets the 503 and its Retry-After
    status, headers, _ = _request(nginx.url("/api/jobs"), "POST", b"x")
    assert status == 503
    assert headers.get("Retry-After") == "1"


def test_events_stream_through_unbuffered(multi_gpu_nginx) -> None:
    nginx, _, _ = multi_gpu_nginx
    started = time.monotonic()
    with urllib.request.urlopen(nginx.url(f"/api/jobs/gpu1.{JOB}/events"), timeout=20) as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        first = resp.readline()
        first_at = time.monotonic() - started
        rest = resp.read()
    assert b'"replica": "gpu1"' in first
    assert first_at < 0.9, f"the first event took {first_at:.2f}s: nginx buffered the stream"
    assert b'"n": 2' in rest


def test_host_site_routes_api_and_frontend(tmp_path: Path, fake_backends) -> None:
    backend, frontend = fake_backends  # the second fake stands in for the frontend on 3332
    port = free_port()
    site = _write(tmp_path, render_host_site(backend.port, frontend.port, port))
    nginx = NginxProcess(find_tool("nginx"), tmp_path, site, port)
    try:
        assert _json(nginx.url("/api/health"))["replica"] == backend.name
        assert _json(nginx.url("/api/upscale"), "POST")["replica"] == backend.name
        for docs in ("/docs", "/redoc", "/docs/oauth2-redirect", "/openapi.json", "/api/docs-assets/swagger-ui.css"):
            assert _json(nginx.url(docs))["replica"] == backend.name, docs
        assert _json(nginx.url("/"))["replica"] == frontend.name
        assert _json(nginx.url("/some/page"))["replica"] == frontend.name
        status, _, _ = _request(nginx.url("/metrics"))
        assert status in (200, 403)
        with urllib.request.urlopen(nginx.url(f"/api/jobs/x.{JOB}/events"), timeout=20) as resp:
            assert resp.readline().startswith(b"data:")
    finally:
        nginx.stop()


def test_frontend_container_config(tmp_path: Path, fake_backends) -> None:
    backend, _ = fake_backends
    html = tmp_path / "html"
    (html / "assets").mkdir(parents=True)
    (html / "models").mkdir()
    (html / "index.html").write_text("<!doctype html><title>app</title>")
    (html / "assets/ort-wasm-simd-threaded.jsep-abc123.wasm").write_bytes(b"\0asm\1\0\0\0")
    (html / "ort-wasm.wasm").write_bytes(b"\0asm\1\0\0\0")
    (html / "models/realesr-animevideov3.onnx").write_bytes(b"\x08\x07")
    (html / "assets/index-abc123.js").write_text("console.log(1)")

    # The image's entrypoint script writes config.json from the environment.
    script = CONFIG_SCRIPT.read_text(encoding="utf-8").replace("html=/usr/share/nginx/html", f"html={html}")
    env = {**os.environ, "VITE_API_URL": 'https://api.example.com/"x"', "VITE_UPSCALE_MODE": "server"}
    subprocess.run(["sh", "-c", script], env=env, check=True, capture_output=True)

    port = free_port()
    site = _write(tmp_path, render_frontend(f"http://127.0.0.1:{backend.port}", html, port))
    nginx = NginxProcess(find_tool("nginx"), tmp_path, site, port)
    try:
        status, headers, body = _request(nginx.url("/assets/ort-wasm-simd-threaded.jsep-abc123.wasm"))
        assert status == 200 and headers["Content-Type"] == "application/wasm"
        assert "immutable" in headers["Cache-Control"]
        status, headers, _ = _request(nginx.url("/ort-wasm.wasm"))
        assert status == 200 and headers["Content-Type"] == "application/wasm"
        status, headers, _ = _request(nginx.url("/models/realesr-animevideov3.onnx"))
        assert status == 200 and headers["Content-Type"] == "application/octet-stream"
        status, _, _ = _request(nginx.url("/models/missing.onnx"))
        assert status == 404

        status, headers, body = _request(nginx.url("/config.json"))
        assert status == 200 and headers["Cache-Control"] == "no-store"
        import json

        assert json.loads(body) == {"VITE_API_URL": 'https://api.example.com/"x"', "VITE_UPSCALE_MODE": "server"}

        status, headers, body = _request(nginx.url("/some/client/route"))
        assert status == 200 and b"<title>app</title>" in body  # SPA fallback
        assert headers["Content-Type"].startswith("text/html")

        # /api goes to the backend, before any static rule (an API path ending in .onnx included).
        assert _json(nginx.url("/api/health"))["replica"] == backend.name
        assert _json(nginx.url("/api/models/x/model.onnx"))["replica"] == backend.name
        assert _json(nginx.url("/api/upscale"), "POST")["replica"] == backend.name
        for docs in ("/docs", "/redoc", "/docs/oauth2-redirect", "/openapi.json", "/api/docs-assets/swagger-ui.css"):
            assert _json(nginx.url(docs))["replica"] == backend.name, docs
        with urllib.request.urlopen(nginx.url(f"/api/jobs/gpu0.{JOB}/events"), timeout=20) as resp:
            assert resp.readline().startswith(b"data:")
    finally:
        nginx.stop()


def test_config_json_script_with_no_environment(tmp_path: Path) -> None:
    import json

    script = CONFIG_SCRIPT.read_text(encoding="utf-8").replace("html=/usr/share/nginx/html", f"html={tmp_path}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITE_")}
    subprocess.run(["sh", "-c", script], env=env, check=True, capture_output=True)
    assert json.loads((tmp_path / "config.json").read_text(encoding="utf-8")) == {"VITE_API_URL": ""}


def test_a_replica_that_is_down_is_skipped(multi_gpu_nginx) -> None:
    nginx, gpu0, gpu1 = multi_gpu_nginx
    gpu0.server.shutdown()
    gpu0.server.server_close()  # connection refused from now on
    for _ in range(4):
        assert _json(nginx.url("/api/jobs"), "POST")["replica"] == "gpu1"
        assert _json(nginx.url("/api/health"))["replica"] == "gpu1"


def _raw_post(port: int, path: str, declared: int, body: bytes = b"") -> tuple[int, bytes]:
    """A POST that declares `declared` bytes but may send fewer: nginx judges by Content-Length."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
        sock.sendall(head.encode() + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2]


def test_nginx_errors_on_api_paths_are_json(tmp_path: Path, fake_backends) -> None:
    """nginx's own 413 and 502 reach API clients as {detail, code}, not as HTML pages."""
    import json

    backend, frontend = fake_backends
    port = free_port()
    site = _write(tmp_path, render_host_site(backend.port, frontend.port, port))
    nginx = NginxProcess(find_tool("nginx"), tmp_path, site, port)
    try:
        status, body = _raw_post(port, "/api/upscale", 65 * 1024 * 1024 + 1)
        assert status == 413 and json.loads(body)["code"] == "upload_too_large"

        # A batch may be bigger than one upload: nginx passes it on and the backend judges it.
        payload = b"x" * (70 * 1024 * 1024)
        status, body = _raw_post(port, "/api/upscale-batch", len(payload), payload)
        assert status == 200 and json.loads(body)["replica"] == backend.name
    finally:
        nginx.stop()

    # No backend listening at all.
    port = free_port()
    site = _write(tmp_path, render_host_site(free_port(), frontend.port, port))
    nginx = NginxProcess(find_tool("nginx"), tmp_path, site, port)
    try:
        status, headers, body = _request(nginx.url("/api/health"))
        assert status == 502 and headers["Content-Type"] == "application/json"
        assert json.loads(body)["code"] == "backend_unreachable" and headers["Retry-After"] == "5"
    finally:
        nginx.stop()
