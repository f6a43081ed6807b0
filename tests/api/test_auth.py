"""Optional API keys: every /api route except health needs one when API_KEYS is set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import Server, pattern, png_bytes, start_server


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory, models_dir) -> Iterator[Server]:  # noqa: ANN001
    server = start_server(tmp_path_factory.mktemp("keyed"), models_dir, API_KEYS="alpha-key,beta-key", CORS_ORIGINS="*")
    yield server
    server.stop()


def test_health_is_open_everything_else_needs_a_key(keyed: Server) -> None:
    with keyed.client() as client:
        assert client.get("/api/health").status_code == 200
        for method, path in (
            ("GET", "/api/info"),
            ("GET", "/api/models"),
            ("GET", "/api/jobs/x"),
            ("POST", "/api/upscale"),
        ):
            response = client.request(method, path)
            assert response.status_code == 401, path
            assert response.json()["code"] == "unauthorized"
            assert "www-authenticate" in response.headers


def test_keys_by_header_or_bearer(keyed: Server) -> None:
    files = {"file": ("p.png", png_bytes(pattern(1)), "image/png")}
    with keyed.client() as client:
        assert client.get("/api/info", headers={"X-API-Key": "alpha-key"}).status_code == 200
        assert client.get("/api/info", headers={"Authorization": "Bearer beta-key"}).status_code == 200
        assert client.get("/api/info", headers={"X-API-Key": "wrong"}).status_code == 401
        assert client.get("/api/info", headers={"Authorization": "Basic YWxwaGEta2V5"}).status_code == 401
        response = client.post("/api/upscale", headers={"X-API-Key": "beta-key"}, files=files)
        assert response.status_code == 200


def test_wildcard_cors_never_allows_credentials(keyed: Server) -> None:
    with keyed.client() as client:
        response = client.get("/api/health", headers={"Origin": "http://anywhere.example"})
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers


def test_no_key_is_refused_before_the_body_is_read(keyed: Server) -> None:
    """A caller without a key must not make the server read (and spool) its upload: the 401
    comes while the declared body has not even been sent."""
    import json
    import socket
    from urllib.parse import urlsplit

    with socket.create_connection(("127.0.0.1", urlsplit(keyed.url).port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/upscale-batch HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 900000\r\n\r\n"
        )
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)  # times out (fails) if the server waits for the body
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401")
    assert b"www-authenticate" in head.lower()
    assert json.loads(body)["code"] == "unauthorized"


def test_head_works_where_get_does(keyed: Server) -> None:
    with keyed.client() as client:
        response = client.head("/api/health")
        assert response.status_code == 200 and response.content == b""
        assert client.head("/api/info").status_code == 401
        assert client.head("/api/info", headers={"X-API-Key": "alpha-key"}).status_code == 200
        assert client.head("/api/upscale").status_code in (401, 405)


def _concrete(path: str) -> str:
    return path.replace("{name}", "tiny").replace("{job_id}", "0" * 32)


def test_the_schema_declares_a_key_exactly_where_one_is_asked(keyed: Server, server: Server) -> None:
    """A client generated from /openapi.json sends a key where the document says so: every
    operation that declares the schemes must refuse a call without one, every other must not."""
    with keyed.client() as client:
        schema = client.get("/openapi.json").json()
        assert set(schema["components"]["securitySchemes"]) == {"APIKeyHeader", "HTTPBearer"}
        for path, item in schema["paths"].items():
            for method, operation in item.items():
                status = client.request(method.upper(), _concrete(path)).status_code
                if "security" in operation:
                    assert status == 401, (method, path, status)
                else:
                    assert status != 401, (method, path, status)
    # Without API_KEYS nothing asks for a key, so the document declares none (and /docs shows
    # no Authorize button).
    with server.client() as client:
        schema = client.get("/openapi.json").json()
        assert "securitySchemes" not in schema.get("components", {})
        assert not [path for path, item in schema["paths"].items() for op in item.values() if "security" in op]
